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

TEST_F(AtomicFileTest, AKilledWritersTemporariesAreRemovedAndNothingElse) {
  namespace fs = std::filesystem;
  fs::create_directories(path("checkpoints"));
  fs::create_directories(path("deep/er"));
  write_bytes(".config.json.x1y2z3.pawtrait-tmp", "half");
  write_bytes("checkpoints/.step-000003.safetensors.abcdefgh.pawtrait-tmp", "half");
  write_bytes("checkpoints/step-000002.safetensors", "whole");
  write_bytes("deep/er/.far.pawtrait-tmp", "three levels down: not a run's");
  write_bytes("notes.pawtrait-tmp.txt", "not a temporary");
  EXPECT_EQ(remove_abandoned_temporaries(dir_), 2);
  EXPECT_TRUE(fs::exists(path("checkpoints/step-000002.safetensors")));
  EXPECT_TRUE(fs::exists(path("deep/er/.far.pawtrait-tmp")));
  EXPECT_TRUE(fs::exists(path("notes.pawtrait-tmp.txt")));
  EXPECT_EQ(remove_abandoned_temporaries(path("no-such-folder")), 0);
}

TEST_F(AtomicFileTest, ACopyIsWholeAndAFailedOneLeavesNothing) {
  const std::string content(5 << 20, 'p');  // over one 4 MiB read
  write_bytes("from.bin", content);
  copy_file_atomically(path("from.bin"), path("to.bin"));
  EXPECT_EQ(read_bytes(path("to.bin")), content);
  EXPECT_THROW_MESSAGE(copy_file_atomically(path("missing.bin"), path("other.bin")), "could not read", "missing.bin");
  EXPECT_FALSE(std::filesystem::exists(path("other.bin")));
  EXPECT_EQ(count_entries(dir_), 2u);
}

TEST_F(AtomicFileTest, AFinishedFolderReplacesTheOldOneWhole) {
  namespace fs = std::filesystem;
  fs::create_directories(path("model"));
  write_bytes("model/weights", "old");
  fs::create_directories(path("model.partial"));
  write_bytes("model.partial/weights", "new");
  // Not marked complete: refused, nothing changed.
  EXPECT_THROW_MESSAGE(replace_folder(path("model.partial"), path("model")), "not marked complete");
  EXPECT_EQ(read_bytes(path("model/weights")), "old");
  write_bytes(std::string("model.partial/") + kFolderCompleteMarker, "{}");
  replace_folder(path("model.partial"), path("model"));
  EXPECT_EQ(read_bytes(path("model/weights")), "new");
  EXPECT_TRUE(fs::exists(path("model") / kFolderCompleteMarker));
  EXPECT_EQ(count_entries(dir_), 1u);  // no staging folder, no old one left
  // Into a place where nothing was yet.
  fs::create_directories(path("fresh.partial"));
  write_bytes(std::string("fresh.partial/") + kFolderCompleteMarker, "{}");
  replace_folder(path("fresh.partial"), path("fresh"));
  EXPECT_TRUE(fs::exists(path("fresh") / kFolderCompleteMarker));
}

}  // namespace
}  // namespace pawtrait
