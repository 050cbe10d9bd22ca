#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "models/lora.h"
#include "models/lora_export.h"
#include "training/dreambooth.h"
#include "training/latent_cache.h"
#include "training/training_loop.h"

namespace pawtrait::pipeline {
class TextToImage;
}
namespace pawtrait::schedulers {
class NoiseProcess;
}

// The steps of a DreamBooth run that do not depend on the family: the run folder, the
// adapters, the validation batch, the previews, the LoRA export and the loop's settings. Each
// family's trainer (families/*/..._dreambooth_trainer.cpp) adds its model's batch and loss.
namespace pawtrait::training {

// The request's usable photos at `resolution` (the skipped ones recorded in `result`), with
// the log line that says what the run trains on and where.
std::vector<std::filesystem::path> select_training_photos(const TrainRequest& request, std::int64_t resolution,
                                                          c10::Device device, c10::ScalarType precision,
                                                          const LogSink& log, TrainResult& result);

// Logs how many parameters in how many tensors the run trains.
void log_trained_size(const NamedParameters& trained, const LogSink& log);

// Runs the loop over `task` with the request's settings; its outcome goes into `result`.
void run_training_loop(TrainingTask& task, const TrainRequest& request, c10::ScalarType precision,
                       const TrainCallbacks& callbacks, TrainResult& result);

// previews/, and config.json for a new run; a new run over an existing one is refused.
void start_run_folder(const TrainRequest& request);

// What the previews show: the pet, the pet in another setting, and the class alone.
std::vector<std::string> preview_prompts(const TrainRequest& request);

// LoRA adapters (float32, PEFT's init, drawn from `init` when given) on `module`'s `targets`,
// the rest of it frozen; returns the adapters by name, each prefixed with `prefix`. Throws
// pawtrait::Error when no target exists in the module (`what` names it).
NamedParameters add_trained_lora(torch::nn::Module& module, const std::vector<std::string>& targets,
                                 const TrainRequest& request, std::optional<at::Generator>& init,
                                 const std::string& prefix, const std::string& what);

// A fixed validation batch (DreamBooth's loss jumps with the random timestep): the first
// photos' posterior means at the noise process's validation timesteps, with fixed noise, so
// its loss moves only with the model. Five rounds of `photos` examples.
struct ValidationBatch {
  std::int64_t photos = 0;
  at::Tensor timesteps, noisy, target;
};
ValidationBatch make_validation_batch(const schedulers::NoiseProcess& noise_process, const LatentCache& photos,
                                      double scaling_factor);

// The preview pictures at `resolution`, saved in run_dir/previews; nothing when stopped half way
// or when a picture failed (logged as a warning: a broken preview does not end the run).
std::optional<TrainPreview> make_previews(pipeline::TextToImage& sampler, const TrainRequest& request,
                                          const std::vector<std::string>& prompts, std::int64_t resolution,
                                          std::int64_t step, const std::atomic<bool>* cancel, const LogSink& log);

// Writes lora/<token>_<class>.safetensors (kohya, `names`) and lora/pytorch_lora_weights.safetensors
// (PEFT) with sd-scripts' metadata plus `metadata`, and records both in `result`.
void export_lora(const TrainRequest& request, const std::vector<models::LoraLayer>& layers,
                 const models::KohyaNames& names, std::map<std::string, std::string> metadata, std::int64_t resolution,
                 std::int64_t steps_done, TrainResult& result);

// The loop's settings from the request; the float16 loss scale with float16 compute.
LoopSettings loop_settings(const TrainRequest& request, c10::ScalarType precision);

// What to try when the loss stops being finite.
std::string nan_advice(const TrainRequest& request, c10::ScalarType precision);

}  // namespace pawtrait::training
