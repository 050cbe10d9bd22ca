#include "common/atomic_file.h"

#include <sys/resource.h>

#include <csignal>

#include "common/error.h"
#include "test_support.h"

namespace pawtrait {
namespace {

class AtomicFileTest : public testing::TempDirTest {};

std::size_t count_entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST_F(AtomicFileTest, CommitReplacesTheTarget) {
  write_bytes("out.txt", "old");
  write_file_atomically(path("out.txt"), "new content");
  EXPECT_EQ(read_bytes(path("out.txt")), "new content");
  EXPECT_EQ(count_entries(dir_), 1u);
}

TEST_F(AtomicFileTest, AbandonedWriteLeavesTargetAndNoTemporaryFile) {
  write_bytes("out.txt", "old");
  {
    AtomicFile file(path("out.txt"));
    file.write("half of the new cont");
    EXPECT_EQ(count_entries(dir_), 2u);  // the temporary file exists while writing
  }
  EXPECT_EQ(read_bytes(path("out.txt")), "old");
  EXPECT_EQ(count_entries(dir_), 1u);
}

TEST_F(AtomicFileTest, MissingFolderGivesAnActionableMessage) {
  EXPECT_THROW_MESSAGE(write_file_atomically(path("no/such/folder/out.txt"), "x"), "could not write",
                       "no/such/folder/out.txt", "folder does not exist");
}

// A write that fails half-way (here: the process's file-size limit, as a full disk would)
// reports the failure and leaves the old file exactly as it was.
TEST_F(AtomicFileTest, FailedWriteKeepsTheOldFile) {
  write_bytes("out.bin", "old");
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string big(4096, 'x');
  EXPECT_THROW_MESSAGE(write_file_atomically(path("out.bin"), big), "could not write", "out.bin", "too large");
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(read_bytes(path("out.bin")), "old");
  EXPECT_EQ(count_entries(dir_), 1u);
}

}  // namespace
}  // namespace pawtrait
