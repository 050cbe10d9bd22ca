#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::models {

// What a model file or folder holds, read from headers and configs only (no weights are
// loaded), for `pawtrait-cli info` and the GUI's base-model panel.
struct ComponentInfo {
  std::string name;                 // "unet", "vae", "text_encoder", "tokenizer", "scheduler", ...
  std::string library;              // "diffusers", "transformers"; empty for single-file parts
  std::string class_name;           // "UNet2DConditionModel", ...
  std::vector<std::string> files;   // relative to the model path
  std::int64_t parameters = 0;      // elements of floating-point tensors
  std::int64_t other_elements = 0;  // elements of integer/bool tensors (buffers such as position_ids)
  std::int64_t tensors = 0;
  std::uint64_t bytes = 0;                     // on disk
  std::map<std::string, std::int64_t> dtypes;  // safetensors dtype name -> parameter elements
  std::string note;                            // anything the user should know (pickle-only, missing files)
};

struct ModelInfo {
  std::string path;
  std::string format;  // "diffusers folder", "single-file checkpoint", "LoRA", "safetensors file"
  std::string family;  // "Stable Diffusion 1.x", "Stable Diffusion 2.x", ... or a description
  std::vector<ComponentInfo> components;
  nlohmann::json scheduler_config;              // null when there is none
  std::map<std::string, std::string> metadata;  // a single file's __metadata__
};

// Throws pawtrait::Error with a one-line reason for anything it cannot read.
ModelInfo inspect_model(const std::filesystem::path& path);

nlohmann::json to_json(const ModelInfo& info);
std::string format_model_info(const ModelInfo& info);

}  // namespace pawtrait::models
