#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <random>

#include "common/error.h"

namespace pawtrait {
namespace {

std::string errno_advice(int error_number) {
  switch (error_number) {
    case ENOSPC:
    case EDQUOT:
      return " (the disk is full: free some space and try again)";
    case EFBIG:
      return " (the file is too large for this disk or your limits: free space or choose another folder)";
    case EACCES:
    case EPERM:
    case EROFS:
      return " (no permission to write there: choose another folder)";
    case ENOENT:
      return " (the folder does not exist: create it or choose another)";
    default:
      return "";
  }
}

std::string random_suffix() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> digit(0, 35);
  std::string suffix;
  for (int i = 0; i < 8; ++i) {
    unsigned d = digit(device);
    suffix += static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
  }
  return suffix;
}

// PAWTRAIT_FAULT_KILL_IN_WRITE, read once; 0 when unset.
int kill_in_write() {
  static const int n = [] {
    const char* value = std::getenv("PAWTRAIT_FAULT_KILL_IN_WRITE");
    return value != nullptr ? std::atoi(value) : 0;
  }();
  return n;
}

std::atomic<int> files_begun{0};

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)), ordinal_(++files_begun) {
  std::filesystem::path folder = target_.parent_path();
  if (folder.empty()) folder = ".";
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    std::string name = ".";
    name += target_.filename().string();
    name += '.';
    name += random_suffix();
    name += kTemporarySuffix;
    temp_ = folder / name;
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST) fail("could not create a temporary file next to it", errno);
  }
  if (fd_ < 0) fail("could not create a temporary file next to it", EEXIST);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (committed_ || fd_ < 0) throw Error("internal: write after commit to " + target_.string());
  const char* bytes = static_cast<const char*>(data);
  if (ordinal_ == kill_in_write()) {  // a kill in the middle of this file: half of it on disk
    [[maybe_unused]] const ssize_t half = ::write(fd_, bytes, size / 2);
    ::raise(SIGKILL);
  }
  while (size > 0) {
    ssize_t n = ::write(fd_, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  if (::fsync(fd_) != 0) fail("flushing to disk failed", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("closing failed", errno);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("renaming the finished file into place failed", errno);
  committed_ = true;
  // Make the rename itself durable.
  std::filesystem::path folder = target_.parent_path();
  int dir_fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void AtomicFile::fail(const std::string& what, int error_number) {
  throw Error("could not write " + target_.string() + ": " + what + ": " + std::strerror(error_number) +
              errno_advice(error_number));
}

void write_file_atomically(const std::filesystem::path& target, const std::string& content) {
  AtomicFile file(target);
  file.write(content);
  file.commit();
}

int remove_abandoned_temporaries(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  int removed = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it.depth() >= 1) it.disable_recursion_pending();
    const std::string name = it->path().filename().string();
    if (name.size() > std::strlen(kTemporarySuffix) && name.ends_with(kTemporarySuffix) && it->is_regular_file(ec)) {
      std::error_code ignored;
      if (fs::remove(it->path(), ignored)) ++removed;
    }
  }
  return removed;
}

void copy_file_atomically(const std::filesystem::path& from, const std::filesystem::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Error("could not read " + from.string() + ": " + std::strerror(errno));
  AtomicFile out(to);
  std::string buffer(4 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error_number = errno;
      ::close(in);
      throw Error("could not read " + from.string() + ": " + std::strerror(error_number));
    }
    if (n == 0) break;
    try {
      out.write(buffer.data(), static_cast<std::size_t>(n));
    } catch (...) {
      ::close(in);
      throw;
    }
  }
  ::close(in);
  out.commit();
}

void replace_folder(const std::filesystem::path& staging, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  if (!fs::exists(staging / kFolderCompleteMarker)) {
    throw Error("internal: " + staging.string() + " is not marked complete; it does not replace " + target.string());
  }
  const fs::path old = target.string() + ".pawtrait-old";
  std::error_code ec;
  fs::remove_all(old, ec);
  if (fs::exists(target)) {
    if (::rename(target.c_str(), old.c_str()) != 0) {
      throw Error("could not replace " + target.string() + ": " + std::strerror(errno) + errno_advice(errno));
    }
  }
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    const int error_number = errno;
    ::rename(old.c_str(), target.c_str());  // the old folder back
    throw Error("could not put " + target.string() + " in place: " + std::strerror(error_number) +
                errno_advice(error_number));
  }
  fs::remove_all(old, ec);
}

}  // namespace pawtrait
