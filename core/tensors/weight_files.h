#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace pawtrait::tensors {

// The safetensors files that hold one model component's weights (a diffusers component
// folder such as unet/). Sharded weights are listed by a "*.safetensors.index.json" whose
// weight_map names the shards. `variant` selects e.g. "fp16" files
// (diffusion_pytorch_model.fp16.safetensors); empty means the plain files.
// Throws pawtrait::Error when the folder holds only pickle weights (.bin/.ckpt, refused
// because unpickling can run code) or nothing loadable.
std::vector<std::filesystem::path> find_weight_files(const std::filesystem::path& component_dir,
                                                     const std::string& variant = "");

}  // namespace pawtrait::tensors
