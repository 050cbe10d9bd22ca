#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "families/diffusion_model.h"
#include "families/model_family.h"
#include "models/autoencoder_kl.h"
#include "models/lora.h"
#include "models/lora_export.h"
#include "training/dreambooth.h"
#include "training/latent_cache.h"
#include "training/photo_dataset.h"
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

// The usable photos as the pet's training pictures, in aspect-ratio buckets (at the family's
// bucket_step for its `size_multiple`) or squares, as the request's crop says; logs the sizes.
TrainingPhotos load_pet_photos(const TrainRequest& request, const std::vector<std::filesystem::path>& photos,
                               std::int64_t resolution, std::int64_t size_multiple, const LogSink& log);

// Where a run computes and in which precision (logged), and the options its model loads with:
// frozen weights in the compute precision, the request's config folder for a single file.
// Logs "loading <model>".
struct TrainingPlacement {
  c10::Device device{c10::kCPU};
  c10::ScalarType precision = c10::ScalarType::Float;
  families::LoadOptions load;
};
TrainingPlacement choose_training_placement(const TrainRequest& request, const LogSink& log);

// A Stop before the first step is a result too: nothing was trained, nothing is lost. Logs it
// and returns `result`, marked stopped.
TrainResult stopped_before_training(TrainResult& result, const LogSink& log);

// Prior preservation's class images at `resolution`, drawn with `sampler` into the class-image
// folder the request names (or the shared one), those drawn before kept; the files.
std::vector<std::filesystem::path> class_image_files(pipeline::TextToImage& sampler, const TrainRequest& request,
                                                     std::int64_t resolution, const LogSink& log,
                                                     const std::atomic<bool>* cancel);

// The instance and class prompts as the denoiser reads them, in float32, encoded once. The
// preview prompts and the unconditional branch are encoded too: `sampler` keeps them, so that
// the previews still work once the text encoders are released.
// The pet's prompt for each photo: the instance prompt, with the photo's caption after it when
// it has one (TrainRequest::instance_prompt(photo)); each distinct prompt encoded once.
struct PetPrompts {
  std::vector<std::string> texts;               // [0]: the plain instance prompt
  std::vector<families::Conditioning> encoded;  // float32, in the order of texts
  std::vector<std::int64_t> of_photo;           // by photo: its prompt's place in texts
  bool captioned() const { return texts.size() > 1; }
  // The `key` tensor ("context", "pooled") of the photos' prompts, a row for each photo.
  at::Tensor rows(const std::string& key, const at::Tensor& photos) const;
  // The photos' prompt texts, in order.
  std::vector<std::string> texts_of(const at::Tensor& photos) const;
};
struct TrainingPrompts {
  families::Conditioning instance, class_prompt;
  PetPrompts pet;
};
TrainingPrompts encode_training_prompts(pipeline::TextToImage& sampler, const TrainRequest& request,
                                        const std::vector<std::filesystem::path>& photos,
                                        const std::vector<std::string>& preview_prompts, const LogSink& log);

// With cached latents the VAE only decodes (the previews): its encoder is released.
void release_vae_encoder(models::AutoencoderKL& vae);

// One batch noised for a training step, on `device`: timesteps drawn by the noise process, the
// noise (with the request's offset noise), the noisy latents and the target (ε or v). The
// generator is drawn from in one order, whatever the family: timesteps, noise, offset.
struct NoisedBatch {
  at::Tensor timesteps, noisy, target;
};
NoisedBatch noise_batch(const schedulers::NoiseProcess& noise_process, const at::Tensor& latents,
                        const TrainRequest& request, at::Generator& gen, c10::Device device);

// DreamBooth's loss over `batch` pet rows followed, with prior preservation, by as many class
// rows (their loss weighted by the request's prior_weight). With `pet_weights` (a masked loss),
// the pet rows' squared errors are averaged with those weights.
at::Tensor dreambooth_loss(const at::Tensor& prediction, const at::Tensor& target, const TrainRequest& request,
                           bool prior, const at::Tensor& pet_weights = {});

// The mean squared error, each element weighted by `weights` (broadcast over the channels) and
// divided by their sum, so that a mask does not change the loss's scale; plain without weights.
at::Tensor weighted_mse(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& weights);

// One step's DreamBooth loss: the pet's drawn latents (weighted by their masks with a masked
// loss) and, with prior preservation (`class_latents`
// defined), as many class latents, noised, through `forward(batch, first_row, rows)`, which runs
// the model on the rows [first_row, first_row + rows) of [pet rows, class rows] (to pick their
// prompts). One pass over all the rows when the pictures are the same size; else (a bucketed
// photo beside a square class image) one pass each, the same loss.
using DreamBoothForward = std::function<at::Tensor(const NoisedBatch&, std::int64_t, std::int64_t)>;
at::Tensor dreambooth_step_loss(const schedulers::NoiseProcess& noise_process, const LatentDraw& pet,
                                const at::Tensor& class_latents, const TrainRequest& request, at::Generator& gen,
                                c10::Device device, const DreamBoothForward& forward);

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

// A fixed validation batch (DreamBooth's loss jumps with the random timestep): the first four
// photos' posterior means at the noise process's validation timesteps, with fixed noise, so its
// loss moves only with the model. Five rounds of `photos` examples, one batch for each picture
// size the first four photos come in.
struct ValidationBatch {
  std::int64_t photos = 0;
  at::Tensor photo_index;  // (photos) long, on the CPU: which of the run's photos a round holds
  at::Tensor timesteps, noisy, target;
};
std::vector<ValidationBatch> make_validation_batches(const schedulers::NoiseProcess& noise_process,
                                                     const LatentGroups& photos, double scaling_factor);

// The validation batches' mean loss, each weighted by its photos; `predict(noisy, timesteps,
// photo_index)` runs the model on one round of rows.
using ValidationPredict = std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)>;
double validation_loss(const std::vector<ValidationBatch>& batches, c10::Device device,
                       const ValidationPredict& predict);

// The preview pictures at `resolution`, saved in run_dir/previews; nothing when stopped half way.
// A picture that fails throws; the training loop skips that preview with a warning.
std::optional<TrainPreview> make_previews(pipeline::TextToImage& sampler, const TrainRequest& request,
                                          const std::vector<std::string>& prompts, std::int64_t resolution,
                                          std::int64_t step, const std::atomic<bool>* cancel);

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
