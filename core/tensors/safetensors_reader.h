#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tensors/safetensors_header.h"

namespace pawtrait {
class MappedFile;
}

namespace pawtrait::tensors {

// A safetensors file, memory-mapped. tensor() returns a CPU tensor that views the mapping
// without copying whenever the data is aligned for its dtype (writers align it; a copy is
// made otherwise). Views keep the mapping alive, so they may outlive this object. The
// mapping is copy-on-write: writing into a view never changes the file.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::string& source() const { return source_; }
  const std::vector<TensorEntry>& entries() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorEntry* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  at::Tensor tensor(const TensorEntry& entry) const;
  // Throws pawtrait::Error naming the file when the tensor is absent.
  at::Tensor tensor(std::string_view name) const;
  // Gives the tensor's pages back to the kernel once it has been copied elsewhere (views of
  // it stay valid: the pages are read from the file again if touched).
  void release(const TensorEntry& entry) const;

 private:
  SafetensorsFile(std::shared_ptr<MappedFile> mapping, std::string source);

  std::shared_ptr<MappedFile> mapping_;
  std::string source_;
  SafetensorsHeader header_;
  std::unordered_map<std::string_view, std::size_t> index_;
};

}  // namespace pawtrait::tensors
