#include "families/stable_diffusion/dreambooth_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "families/stable_diffusion/stable_diffusion_model.h"
#include "models/clip_tokenizer.h"
#include "models/lora_export.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "runtime/runtime_info.h"
#include "schedulers/noise_process.h"
#include "tensors/safetensors_writer.h"
#include "training/cuda_autocast.h"
#include "training/dreambooth_run.h"
#include "training/photo_dataset.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

// What the loop needs of a prepared DreamBooth run: the base model with its adapters, the
// cached latents and prompt embeddings, the sampler for previews.
struct DreamBoothParts {
  const TrainRequest& request;
  models::StableDiffusion& model;
  pipeline::TextToImage& sampler;
  const schedulers::NoiseProcess& noise_process;
  const LatentGroups& instance;
  const std::optional<LatentCache>& prior;
  const PetPrompts& pet_prompts;    // each photo's prompt, encoded (text encoder not trained)
  at::Tensor class_embeds;          // when the text encoder is not trained
  std::vector<at::Tensor> pet_ids;  // when it is: the token ids of pet_prompts.texts
  at::Tensor class_ids;
  NamedParameters trained;
  c10::Device device;
  c10::ScalarType precision;
  at::TensorOptions frozen;  // the frozen weights' device and dtype
  std::int64_t resolution;
  std::vector<std::string> preview_prompts;
  TrainResult& result;
  LogSink log;
};

// Stable Diffusion's part of the loop: the pet's latents (and the class latents with prior
// preservation) noised by the model's own schedule, the ε or v loss, the LoRA or UNet export.
class DreamBoothTask : public TrainingTask {
 public:
  explicit DreamBoothTask(DreamBoothParts parts) : p_(std::move(parts)) {
    val_ = make_validation_batches(p_.noise_process, p_.instance, p_.model.architecture.vae.scaling_factor);
  }

  NamedParameters trainable() override { return p_.trained; }

  at::Tensor loss(at::Generator& gen) override {
    const TrainRequest& request = p_.request;
    const double scaling = p_.model.architecture.vae.scaling_factor;
    const std::int64_t B = request.batch_size;
    // A batch: the pet's latents, then as many class latents when preserving the prior.
    const LatentDraw pet = draw_latents(p_.instance, B, gen, scaling);
    const at::Tensor class_latents = p_.prior ? draw_latents(*p_.prior, B, gen, scaling).latents : at::Tensor();
    CudaAutocast autocast(autocast_on(), p_.precision);
    at::Tensor context = pet_context(pet.index);
    if (p_.prior) context = at::cat({context, class_context().expand({B, -1, -1})});
    return dreambooth_step_loss(p_.noise_process, pet, class_latents, request, gen, p_.device,
                                [&](const NoisedBatch& batch, std::int64_t first, std::int64_t rows) {
                                  return p_.model.unet->forward(batch.noisy.to(p_.frozen), batch.timesteps,
                                                                context.slice(0, first, first + rows).to(p_.frozen));
                                });
  }

  double validation_loss() override {
    CudaAutocast autocast(autocast_on(), p_.precision);
    return training::validation_loss(
        val_, p_.device, [&](const at::Tensor& noisy, const at::Tensor& t, const at::Tensor& photos) {
          return p_.model.unet->forward(noisy.to(p_.frozen), t, pet_context(photos).to(p_.frozen));
        });
  }

  std::optional<TrainPreview> preview(std::int64_t step, const std::atomic<bool>* cancel) override {
    if (p_.request.train_text_encoder) p_.sampler.forget_prompts();  // made with older text-encoder weights
    return make_previews(p_.sampler, p_.request, p_.preview_prompts, p_.resolution, step, cancel);
  }

  void export_result(std::int64_t steps_done) override {
    const TrainRequest& request = p_.request;
    TrainResult& result = p_.result;
    if (request.mode == "full") {
      export_full_model(steps_done);
      return;
    }
    auto layers = models::collect_lora_layers(*p_.model.unet, "unet");
    if (request.train_text_encoder) {
      for (auto& layer : models::collect_lora_layers(*p_.model.text_encoder, "text_encoder")) {
        layers.push_back(std::move(layer));
      }
    }
    // What sd-scripts writes and A1111 reads to list the LoRA with its base model's version.
    const bool sd2 = p_.model.architecture.family == "Stable Diffusion 2.x";
    export_lora(request, layers, {},
                {{"ss_base_model_version", sd2 ? "sd_v2" : "sd_v1"}, {"ss_v2", sd2 ? "True" : "False"}}, p_.resolution,
                steps_done, result);
  }

  void set_training(bool training) override { p_.model.unet->train(training); }

  // run_dir/model, a diffusers folder: the fine-tuned UNet and everything else from the base
  // (configs, tokenizer, scheduler and, from a base folder, the VAE and text encoder weights).
  // Assembled in model.partial, marked complete and put in place whole, so that a kill or a
  // full disk never leaves a folder that looks like a model and is not one.
  void export_full_model(std::int64_t steps_done) {
    const TrainRequest& request = p_.request;
    const fs::path target = request.run_dir / "model";
    const fs::path staging = request.run_dir / "model.partial";
    fs::remove_all(staging);
    fs::create_directories(staging / "unet");
    tensors::NamedTensors weights;
    for (const auto& [name, p] : p_.trained) weights.emplace_back(name, p.detach().cpu());
    tensors::write_safetensors(staging / "unet" / "diffusion_pytorch_model.safetensors", weights);
    const bool base_is_folder = fs::is_directory(request.model);
    const fs::path base = base_is_folder ? request.model : request.model_config;
    if (!base.empty()) {
      for (const auto& entry : fs::recursive_directory_iterator(base)) {
        if (entry.is_directory()) continue;
        const fs::path relative = fs::relative(entry.path(), base);
        const bool weights_file = relative.extension() == ".safetensors";
        if (weights_file && (!base_is_folder || relative.begin()->string() == "unet")) continue;
        if (relative.filename() == kFolderCompleteMarker) continue;  // the base's own download marker
        fs::create_directories((staging / relative).parent_path());
        copy_file_atomically(entry.path(), staging / relative);
      }
    }
    write_file_atomically(staging / kFolderCompleteMarker, nlohmann::json{{"kind", "Pawtrait full fine-tune"},
                                                                          {"base", request.model.filename().string()},
                                                                          {"steps", steps_done}}
                                                                   .dump(2) +
                                                               "\n");
    replace_folder(staging, target);
    p_.result.model_dir = target;
  }

  std::string nan_advice() const override { return training::nan_advice(p_.request, p_.precision); }

 private:
  bool autocast_on() const { return !p_.device.is_cpu() && p_.precision != at::kFloat; }

  // The drawn photos' prompts, a row each; with a trained text encoder they go through it at
  // every step.
  at::Tensor pet_context(const at::Tensor& photos) {
    const std::int64_t n = photos.size(0);
    const PetPrompts& pet = p_.pet_prompts;
    if (!p_.request.train_text_encoder) {
      return pet.captioned() ? pet.rows("context", photos) : pet.encoded.front().at("context").expand({n, -1, -1});
    }
    auto encoded = [&](std::int64_t prompt) {
      return p_.model.text_encoder->forward(p_.pet_ids.at(static_cast<std::size_t>(prompt))).last_hidden_state;
    };
    if (!pet.captioned()) return encoded(0).to(at::kFloat).expand({n, -1, -1});
    std::vector<at::Tensor> rows;
    for (std::int64_t i = 0; i < n; ++i) {
      rows.push_back(encoded(pet.of_photo.at(static_cast<std::size_t>(photos[i].item<std::int64_t>()))));
    }
    return at::cat(rows).to(at::kFloat);
  }

  at::Tensor class_context() {
    if (!p_.request.train_text_encoder) return p_.class_embeds;
    return p_.model.text_encoder->forward(p_.class_ids).last_hidden_state.to(at::kFloat);
  }

  DreamBoothParts p_;
  std::vector<ValidationBatch> val_;
};

}  // namespace

TrainResult train_sd_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks) {
  const LogSink& log = callbacks.log;
  TrainResult result;
  const auto cancelled = [&] { return callbacks.cancel != nullptr && callbacks.cancel->load(); };

  // 1. Device, precision and the base model.
  const c10::Device device = runtime::choose_device(request.device, "training", log);
  const c10::ScalarType precision = runtime::choose_mixed_precision(request.mixed_precision, device, log);
  const bool full = request.mode == "full";
  models::StableDiffusionOptions load;
  load.device = device;
  // Frozen weights in the compute precision; trained weights always in float32.
  load.dtype = full ? at::kFloat : precision;
  if (!request.model_config.empty()) load.model_config = request.model_config;
  load.log = log;
  log_to(log, LogLevel::Info, "loading " + request.model.string());
  models::StableDiffusion model = models::load_stable_diffusion(request.model, load);
  if (cancelled()) return stopped_before_training(result, log);
  if (full && precision != at::kFloat) {  // the VAE and text encoder may still be halved
    model.vae->to(precision);
    model.text_encoder->to(precision);
  }
  const auto& arch = model.architecture;
  const std::int64_t resolution =
      request.resolution > 0 ? request.resolution : arch.unet.sample_size * arch.vae.downscale_factor();
  const at::TensorOptions frozen = at::TensorOptions().device(device).dtype(load.dtype);

  // 2. Photos, checked; their latents cached.
  const std::vector<std::filesystem::path> photos =
      select_training_photos(request, resolution, device, precision, log, result);

  start_run_folder(request);

  families::StableDiffusionModel diffusion(model, models::load_tokenizer(model));
  pipeline::TextToImage sampler(diffusion);  // previews and class images
  const TrainingPhotos pet = load_pet_photos(request, photos, resolution, diffusion.latent_format().size_multiple, log);
  LatentGroups instance = encode_latent_groups(model.vae, pet, request.flip, frozen, request.cache_latents);
  if (request.masked_loss) attach_loss_weights(instance, pet, request.mask_background_weight);
  if (cancelled()) return stopped_before_training(result, log);
  std::optional<LatentCache> prior;
  if (request.prior_count > 0) {
    const auto files = class_image_files(sampler, request, resolution, log, callbacks.cancel);
    if (cancelled()) return stopped_before_training(result, log);  // the class images made so far are kept
    at::NoGradGuard no_grad;
    prior = encode_latents(model.vae, photos_to_tensor(files, resolution), request.flip, frozen, request.cache_latents);
  }

  // 3. Prompt embeddings, once; the text encoder is then released (it is not trained).
  const std::vector<std::string> preview_prompts = training::preview_prompts(request);
  const TrainingPrompts prompts = encode_training_prompts(sampler, request, photos, preview_prompts, log);
  const bool train_te = request.train_text_encoder;
  if (!train_te) model.text_encoder = nullptr;
  if (request.cache_latents) release_vae_encoder(model.vae);

  const models::ClipTokenizer tokenizer = models::load_tokenizer(model);
  auto token_ids = [&](const std::string& prompt) {
    return at::tensor(tokenizer(prompt), at::kLong).view({1, -1}).to(device);
  };

  std::vector<at::Tensor> pet_ids;
  for (const std::string& text : prompts.pet.texts) pet_ids.push_back(token_ids(text));

  // 4. What is trained: LoRA adapters (float32) or every UNet weight.
  models::UNet2DConditionModel& unet = model.unet;
  NamedParameters trained;
  if (full) {
    for (const auto& item : unet->named_parameters()) trained.emplace_back(item.key(), item.value());
  } else {
    // The adapters are drawn on the CPU from the run's own seed, whatever the device (never the
    // process's global generator, which another job may be using).
    std::optional<at::Generator> init = at::make_generator<at::CPUGeneratorImpl>(request.seed);
    trained = add_trained_lora(*unet, request.lora_targets, request, init, "", "UNet");
    if (train_te) {
      for (auto& p : add_trained_lora(*model.text_encoder, request.text_encoder_targets, request, init, "text_encoder.",
                                      "text encoder")) {
        trained.push_back(std::move(p));
      }
    }
  }
  log_trained_size(trained, log);
  if (request.gradient_checkpointing.value_or(false)) unet->enable_gradient_checkpointing(true);

  // 5. The loop: AdamW after the warm-up with the schedule, accumulation, clipping, the
  //    float16 loss scale, the EMA (previews and the export use it), checkpoints, resume.
  DreamBoothTask task({.request = request,
                       .model = model,
                       .sampler = sampler,
                       .noise_process = diffusion.noise_process(),
                       .instance = instance,
                       .prior = prior,
                       .pet_prompts = prompts.pet,
                       .class_embeds = prompts.class_prompt.at("context"),
                       .pet_ids = pet_ids,
                       .class_ids = token_ids(request.class_prompt()),
                       .trained = trained,
                       .device = device,
                       .precision = precision,
                       .frozen = frozen,
                       .resolution = resolution,
                       .preview_prompts = preview_prompts,
                       .result = result,
                       .log = log});
  run_training_loop(task, request, precision, callbacks, result);
  if (full) {
    if (!fs::is_directory(request.model)) {
      log_to(log, LogLevel::Warning,
             "the base model is a single file, so " + result.model_dir.string() +
                 " holds the fine-tuned UNet alone; the VAE and text encoder stay those of " + request.model.string());
    }
  }
  return result;
}

}  // namespace pawtrait::training
