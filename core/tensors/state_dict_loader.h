#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace pawtrait::tensors {

class SafetensorsFile;

struct ShapeMismatch {
  std::string name;
  std::vector<std::int64_t> expected;  // the module's
  std::vector<std::int64_t> found;     // the file's
  std::string file;
};

struct LoadReport {
  std::size_t loaded = 0;
  std::vector<std::string> missing;     // the module has it, no file does
  std::vector<std::string> unexpected;  // a file has it, the module does not
  std::vector<ShapeMismatch> mismatched;

  bool complete() const { return missing.empty() && mismatched.empty(); }
  // "2 missing tensors (a, b); 1 shape mismatch (c: model [1, 2], file [2, 1] in x.safetensors)"
  std::string describe(std::size_t max_names = 8) const;
};

// Where one module tensor is found in a checkpoint of another layout: a (prefix-stripped)
// name, optionally rows [rows_begin, rows_end) of it (fused q/k/v projections), or the
// transpose of a 2-D tensor (OpenCLIP keeps its text projection as x @ P, a Linear holds Pᵀ).
struct TensorSource {
  std::string name;
  std::int64_t rows_begin = 0;
  std::int64_t rows_end = -1;  // -1: to the end
  bool transposed = false;
};

struct LoadOptions {
  // Only file tensors whose names start with this prefix are considered, with the prefix
  // removed (e.g. "model.diffusion_model." for the UNet inside a single-file checkpoint).
  std::string prefix;
  // Maps a module tensor's name to where it is in the files (single-file checkpoints keep
  // the original LDM names). Unset: the same name. A file tensor of shape [o, i, 1, 1] fills
  // a module tensor of shape [o, i] (1×1 convolutions stored for what is now a Linear).
  std::function<TensorSource(const std::string& module_name)> source_for;
  // Converts the module's floating-point parameters and buffers first; integer ones keep theirs.
  std::optional<c10::ScalarType> dtype;
  std::optional<c10::Device> device;
  // Strict by default: a missing tensor or a shape mismatch throws after everything has
  // been checked (nothing is copied then). Unexpected tensors never throw; they are reported.
  bool strict = true;
  // CPU tensors of the file's dtype become views of the (copy-on-write) mapping instead of
  // copies, as the reference's safetensors loading does: loading reads nothing up front and
  // the weights are not held twice. Off: everything is copied and the mapping released.
  bool share_file_memory = true;
};

// Fills a module's parameters and buffers by their registered names from the memory-mapped
// files (viewing or copying them, see share_file_memory): no second copy of the weights is
// held. Several files serve sharded weights; a name present in two of them is an error.
LoadReport load_state_dict(torch::nn::Module& module, const std::vector<SafetensorsFile>& files,
                           const LoadOptions& options = {});
LoadReport load_state_dict(torch::nn::Module& module, const std::vector<std::filesystem::path>& files,
                           const LoadOptions& options = {});

}  // namespace pawtrait::tensors
