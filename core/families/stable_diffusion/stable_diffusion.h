#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/log.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text.h"
#include "models/clip_tokenizer.h"
#include "models/unet2d_condition.h"
#include "schedulers/scheduler_config.h"

namespace pawtrait::tensors {
struct SafetensorsHeader;
}

namespace pawtrait::models {

// What a model is, decided from its configs or, for a single file, its tensor shapes.
struct Architecture {
  std::string family;           // "Stable Diffusion 1.x", "Stable Diffusion 2.x", "custom"
  std::string prediction_type;  // epsilon | v_prediction
  std::int64_t image_size = 512;
  UNet2DConditionConfig unet;
  AutoencoderKLConfig vae;
  CLIPTextConfig text_encoder;
  schedulers::SchedulerConfig scheduler;
  std::string text_encoder_layout;  // "transformers" (SD 1.x) or "open_clip" (SD 2.x), single files only
  // Set when the shapes leave a choice open: what was assumed and how to say otherwise.
  std::string guess;
};

// The standard architectures a single-file checkpoint can have, recognised from its tensor
// shapes: SD 1.x, or SD 2.x (taken as the 768-pixel v-prediction model, the one most
// SD 2.x single files are; a --model-config folder overrides the guess).
// Throws pawtrait::Error saying to pass a model config for anything else.
Architecture detect_single_file_architecture(const tensors::SafetensorsHeader& header, const std::string& source);
// Reads unet/, vae/, text_encoder/ and scheduler/ configs of a diffusers-style folder.
Architecture read_folder_architecture(const std::filesystem::path& folder);

// The architecture of a model folder or single file, for reports: from the folder's configs,
// the given model-config folder, or the file's tensor shapes. Throws pawtrait::Error with the
// reason when it cannot tell.
Architecture detect_architecture(const std::filesystem::path& path,
                                 const std::optional<std::filesystem::path>& model_config = std::nullopt);

struct StableDiffusionOptions {
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::kCPU;
  std::string variant;  // "fp16" for *.fp16.safetensors in a diffusers folder
  // A diffusers-style folder whose config files (and tokenizer) describe a single file.
  std::optional<std::filesystem::path> model_config;
  // A VAE to use instead of the model's own: a diffusers vae/ folder or one .safetensors file.
  std::optional<std::filesystem::path> vae;
  LogSink log;
};

struct StableDiffusion {
  std::filesystem::path source;
  Architecture architecture;
  UNet2DConditionModel unet{nullptr};
  AutoencoderKL vae{nullptr};
  CLIPTextModel text_encoder{nullptr};
  std::optional<std::filesystem::path> tokenizer_dir;  // absent for a single file without a model config
};

// The model's tokenizer: its folder's, or for a single file without a model config the
// built-in CLIP tokenizer padded as SD 1.x (with "<|endoftext|>") or SD 2.x (with "!") pads.
ClipTokenizer load_tokenizer(const StableDiffusion& model);

// Loads a diffusers folder or a single-file .safetensors checkpoint, strictly: every tensor
// each module needs, with its shape, or one clear error naming the component, the tensor
// and the file. Pickle files are refused.
StableDiffusion load_stable_diffusion(const std::filesystem::path& path, const StableDiffusionOptions& options = {});

}  // namespace pawtrait::models
