#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"

namespace pawtrait::training {
struct TrainRequest;
struct TrainResult;
struct TrainCallbacks;
}  // namespace pawtrait::training

namespace pawtrait::families {

class DiffusionModel;

struct LoadOptions {
  c10::Device device = c10::kCPU;
  c10::ScalarType dtype = c10::kFloat;
  // A diffusers-style folder of config files (and tokenizer) that describes a single file.
  std::optional<std::filesystem::path> model_config;
  std::string variant;  // "fp16": a diffusers folder's *.fp16.safetensors
  // A VAE to use instead of the model's own: a diffusers vae/ folder or one .safetensors file.
  std::optional<std::filesystem::path> vae;
  // FLUX.2 [klein]: the text-encoder hidden states that make the prompt embedding; empty: the
  // pipeline's (9, 18, 27).
  std::vector<std::int64_t> text_encoder_layers;
  LogSink log;
};

// What a model is, read from its configs or headers without loading weights.
struct FamilyDescription {
  std::string family;           // "Stable Diffusion 1.x", "built-in", ...
  std::string prediction_type;  // epsilon | v_prediction | flow
  std::int64_t image_size = 0;  // its native picture side
  // The picture sizes people use with it (width, height), the native square first.
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;
  // Set when the model's files leave a choice open: what was assumed and how to say otherwise.
  std::string guess;
  // What generating fills in when a request leaves it open (the loaded model's defaults()).
  std::string sampler;
  std::int64_t steps = 0;
  // It reads SDXL's micro-conditioning (original size, crop corner, target size).
  bool size_conditioned = false;
  // Classifier-free guidance: whether it is guided at all (a guidance-distilled model is not)
  // and the scale its pipeline defaults to.
  bool guided = true;
  double guidance = 7.5;
  // Whether another VAE may decode its pictures (LoadOptions::vae), and whether its prompts go
  // through CLIP's tokenizer, so that PromptOptions::text_cleanup applies.
  bool vae_replaceable = true;
  bool clip_prompts = true;
  // Whether its trainer checkpoints gradients on a GPU unless told otherwise.
  bool checkpoints_on_gpu = false;
};

// One entry of the registry: everything the engine asks of a family before a model is
// loaded. The family's own folder holds the rest (its modules, configs, key maps, LoRA
// layouts); adding a family is a new folder and one line in registry.cpp.
struct ModelFamily {
  std::string name;
  // True when `model` (a path, or a name such as builtin:RUN_DIR) is one of this family's,
  // told from model_index.json's _class_name or a single file's tensor names, cheaply.
  std::function<bool(const std::string& model)> claims;
  std::function<FamilyDescription(const std::string& model, const std::optional<std::filesystem::path>& config)>
      describe;
  std::function<std::unique_ptr<DiffusionModel>(const std::string& model, const LoadOptions& options)> load;
  // The file or folder that holds the model's weights (its size on disk, when it changed).
  std::function<std::filesystem::path(const std::string& model)> location;
  // DreamBooth on one of this family's models (training/dreambooth.h); unset where the family
  // has no DreamBooth trainer (the built-in model trains its own way).
  std::function<training::TrainResult(const training::TrainRequest&, const training::TrainCallbacks&)> train;
  bool cpu_only = false;  // runs on the CPU in float32 whatever the request says
};

// Every family, in the order they are asked: a more specific claim before a broader one.
const std::vector<ModelFamily>& model_families();

// The family that claims `model`. Throws pawtrait::Error saying what the model is when no
// family does: missing, a kind that is not supported yet (named), or not a model at all.
const ModelFamily& family_of(const std::string& model);

}  // namespace pawtrait::families
