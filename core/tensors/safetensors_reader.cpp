#include "tensors/safetensors_reader.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <cstring>

#include "common/error.h"
#include "common/mapped_file.h"
#include "tensors/torch_dtype.h"

namespace pawtrait::tensors {

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  return SafetensorsFile(std::make_shared<MappedFile>(path), path.string());
}

SafetensorsFile::SafetensorsFile(std::shared_ptr<MappedFile> mapping, std::string source)
    : mapping_(std::move(mapping)),
      source_(std::move(source)),
      header_(parse_safetensors_header(mapping_->bytes(), source_)) {
  index_.reserve(header_.tensors.size());
  for (std::size_t i = 0; i < header_.tensors.size(); ++i) index_.emplace(header_.tensors[i].name, i);
}

const TensorEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

at::Tensor SafetensorsFile::tensor(std::string_view name) const {
  const TensorEntry* entry = find(name);
  if (entry == nullptr) throw Error(source_ + ": has no tensor named '" + std::string(name) + "'");
  return tensor(*entry);
}

void SafetensorsFile::release(const TensorEntry& entry) const {
  mapping_->release(header_.data_start + entry.begin, entry.byte_size());
}

at::Tensor SafetensorsFile::tensor(const TensorEntry& entry) const {
  const auto options = at::TensorOptions().dtype(to_scalar_type(entry.dtype)).device(at::kCPU);
  std::byte* data = mapping_->writable_data() + header_.data_start + entry.begin;
  const std::size_t element_size = dtype_size(entry.dtype);
  if (entry.byte_size() == 0 || reinterpret_cast<std::uintptr_t>(data) % element_size != 0) {
    at::Tensor copy = at::empty(entry.shape, options);
    if (entry.byte_size() > 0) std::memcpy(copy.data_ptr(), data, entry.byte_size());
    return copy;
  }
  std::shared_ptr<MappedFile> keep_alive = mapping_;
  return at::from_blob(
      data, entry.shape, [keep_alive](void*) mutable { keep_alive.reset(); }, options);
}

}  // namespace pawtrait::tensors
