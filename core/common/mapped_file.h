#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace pawtrait {

// A whole file mapped into memory. The mapping is private and copy-on-write: tensors that
// view it can be read at page-cache cost, and an accidental in-place write changes this
// process's copy of the page, never the file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
  std::byte* writable_data() const { return static_cast<std::byte*>(data_); }
  std::size_t size() const { return size_; }
  // Drops the whole pages inside [offset, offset + size) from this process's memory (they
  // are read back from the file if touched again). Loading calls it after copying a tensor
  // out, so the mapping does not add a second copy of the weights to the resident set.
  void release(std::size_t offset, std::size_t size) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace pawtrait
