#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/log.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text.h"
#include "models/unet2d_condition.h"
#include "tensors/state_dict_loader.h"

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

// Fills `module` (built under SkipWeightInit: every weight comes from the files) strictly from
// the safetensors weights of `component_dir`, converted to the options' dtype and device, and
// puts it in eval mode: for components whose module a family builds itself.
void fill_component(torch::nn::Module& module, const std::filesystem::path& component_dir,
                    const ComponentLoadOptions& options);

// One component's part of a single-file checkpoint: its tensors' prefix and where each
// module tensor is under it (the original layouts' names).
struct CheckpointPart {
  std::string component;  // "unet", "vae", ..., for messages
  std::string prefix;     // "model.diffusion_model."
  std::function<tensors::TensorSource(const std::string& module_name)> source_for;
};

// Fills `module` (built with SkipWeightInit: every weight comes from the file) strictly from
// its part of a single-file checkpoint, converted to the options' dtype and device, and puts it
// in eval mode. Throws pawtrait::Error naming the component and what does not fit.
void fill_from_checkpoint(torch::nn::Module& module, const std::vector<tensors::SafetensorsFile>& checkpoint,
                          const CheckpointPart& part, const ComponentLoadOptions& options);

}  // namespace pawtrait::models
