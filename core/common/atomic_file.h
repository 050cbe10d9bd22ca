#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace pawtrait {

// Writes a file so that readers see either the old content or the complete new content,
// never a torn one: data goes to a temporary file in the same folder, is flushed to disk,
// and only then renamed over the target. If commit() is never reached (an exception, a
// kill), the target is untouched and the temporary file is removed (or, after a kill,
// left with a ".pawtrait-tmp" suffix that no reader looks at).
//
// Fault injection for tests/e2e/cli_kill.sh: with PAWTRAIT_FAULT_KILL_IN_WRITE=N in the
// environment, the process SIGKILLs itself half-way through the first write of its N-th file.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // Flushes, fsyncs and renames over the target. After it, further writes are errors.
  void commit();

  const std::filesystem::path& target() const { return target_; }

 private:
  [[noreturn]] void fail(const std::string& what, int error_number);

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int ordinal_ = 0;  // this process's n-th AtomicFile, for PAWTRAIT_FAULT_KILL_IN_WRITE
  int fd_ = -1;
  bool committed_ = false;
};

// What a temporary file's name ends with, until it is renamed into place.
inline constexpr const char* kTemporarySuffix = ".pawtrait-tmp";

// Convenience for small files (configs, JSON, text).
void write_file_atomically(const std::filesystem::path& target, const std::string& content);

// Removes the temporary files a killed writer left in `folder` and its subfolders (two levels
// down: a run's checkpoints/, lora/, previews/), so that they do not pile up; returns how many.
// Only for a folder no other process is writing to.
int remove_abandoned_temporaries(const std::filesystem::path& folder);

// Copies `from` as AtomicFile writes: a full disk says so, a kill leaves no torn copy.
void copy_file_atomically(const std::filesystem::path& from, const std::filesystem::path& to);

// The file in a finished folder that says it is whole (also what the model downloader writes).
inline constexpr const char* kFolderCompleteMarker = ".pawtrait-complete";

// Puts the folder `staging`, finished and holding its kFolderCompleteMarker, in place of
// `target` (the same parent folder; an older `target` is replaced): a reader sees the old
// folder or the new one, never a half-written one. A kill between the two renames leaves the
// old one as `target` + ".pawtrait-old".
void replace_folder(const std::filesystem::path& staging, const std::filesystem::path& target);

}  // namespace pawtrait
