#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pawtrait::tensors {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes tensors (any device; made contiguous and copied to the CPU one at a time) and
// string metadata as a safetensors file, atomically: the target is replaced only once the
// whole file is on disk. Tensor data is laid out in the given order, each aligned to 8
// bytes by padding the header with spaces, as the reference writer does.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace pawtrait::tensors
