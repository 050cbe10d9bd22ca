#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <string>

#include "common/log.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text.h"
#include "models/unet2d_condition.h"

namespace pawtrait::models {

struct ComponentLoadOptions {
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::kCPU;
  std::string variant;  // "fp16" selects *.fp16.safetensors
  LogSink log;
};

// Builds a component of a diffusers folder from its config.json and fills it strictly from
// its safetensors weights (sharded or not). `component_dir` is e.g. "<model>/unet".
// Throws pawtrait::Error naming the component, the tensor and the file for anything that
// does not fit.
UNet2DConditionModel load_unet(const std::filesystem::path& component_dir, const ComponentLoadOptions& options = {});
AutoencoderKL load_vae(const std::filesystem::path& component_dir, const ComponentLoadOptions& options = {});
CLIPTextModel load_text_encoder(const std::filesystem::path& component_dir, const ComponentLoadOptions& options = {});

}  // namespace pawtrait::models
