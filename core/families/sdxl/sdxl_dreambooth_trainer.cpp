#include "families/sdxl/sdxl_dreambooth_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <optional>

#include "common/error.h"
#include "families/sdxl/sdxl_lora.h"
#include "families/sdxl/sdxl_model.h"
#include "models/lora_export.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "runtime/runtime_info.h"
#include "schedulers/noise_process.h"
#include "training/cuda_autocast.h"
#include "training/dreambooth_run.h"
#include "training/photo_dataset.h"

namespace pawtrait::training {
namespace {

// Each picture's six size ids (original size, crop corner, target size: its bucket), (n, 6) float32, and
// those of its mirror image.
struct SizeIds {
  at::Tensor plain, mirrored;
};

SizeIds size_ids(const std::vector<PhotoPlacement>& placements) {
  std::vector<float> plain, mirrored;
  auto add = [&](std::vector<float>& ids, const std::array<std::int64_t, 2>& original,
                 const std::array<std::int64_t, 2>& corner, const std::array<std::int64_t, 2>& target) {
    for (const std::int64_t v : {original[0], original[1], corner[0], corner[1], target[0], target[1]}) {
      ids.push_back(static_cast<float>(v));
    }
  };
  for (const PhotoPlacement& p : placements) {
    add(plain, p.original_size, p.crop_top_left, p.target_size);
    add(mirrored, p.original_size, p.mirrored_crop_top_left, p.target_size);
  }
  const auto n = static_cast<std::int64_t>(placements.size());
  return {at::tensor(plain).view({n, 6}), at::tensor(mirrored).view({n, 6})};
}

// The size ids of the drawn pictures: a mirrored photo's crop corner is the mirror's.
at::Tensor drawn_ids(const SizeIds& ids, const LatentDraw& draw) {
  return at::where(draw.flipped.view({-1, 1}), ids.mirrored.index_select(0, draw.index),
                   ids.plain.index_select(0, draw.index));
}

// What the loop needs of a prepared SDXL DreamBooth run.
struct SdxlDreamBoothParts {
  const TrainRequest& request;
  families::StableDiffusionXLModel& diffusion;
  pipeline::TextToImage& sampler;
  const LatentGroups& instance;
  SizeIds instance_ids;
  const std::optional<LatentCache>& prior;
  SizeIds class_ids;
  const PetPrompts& pet_prompts;        // each photo's prompt, encoded when the encoders are not trained
  families::Conditioning class_prompt;  // likewise
  NamedParameters trained;
  c10::Device device;
  c10::ScalarType precision;
  at::TensorOptions frozen;  // the frozen UNet's device and dtype
  std::int64_t resolution;
  std::vector<std::string> preview_prompts;
  TrainResult& result;
  LogSink log;
};

// SDXL's part of the loop: as Stable Diffusion's, with the pooled vector and each example's
// size ids beside the context.
class SdxlDreamBoothTask : public TrainingTask {
 public:
  explicit SdxlDreamBoothTask(SdxlDreamBoothParts parts)
      : p_(std::move(parts)), model_(p_.diffusion.modules()), scaling_(p_.diffusion.latent_format().scaling_factor) {
    val_ = make_validation_batches(p_.diffusion.noise_process(), p_.instance, scaling_);
  }

  NamedParameters trainable() override { return p_.trained; }

  at::Tensor loss(at::Generator& gen) override {
    const TrainRequest& request = p_.request;
    const std::int64_t B = request.batch_size;
    // A batch: the pet's latents, then as many class latents when preserving the prior.
    const LatentDraw pet = draw_latents(p_.instance, B, gen, scaling_);
    at::Tensor class_latents, ids = drawn_ids(p_.instance_ids, pet);
    if (p_.prior) {
      const LatentDraw cls = draw_latents(*p_.prior, B, gen, scaling_);
      class_latents = cls.latents;
      ids = at::cat({ids, drawn_ids(p_.class_ids, cls)});
    }
    CudaAutocast autocast(autocast_on(), p_.precision);
    auto [context, pooled] = pet_conditioning(pet.index);
    if (p_.prior) {
      families::Conditioning cls = class_conditioning();
      context = at::cat({context, cls.at("context").expand({B, -1, -1})});
      pooled = at::cat({pooled, cls.at("pooled").expand({B, -1})});
    }
    return dreambooth_step_loss(p_.diffusion.noise_process(), pet, class_latents, request, gen, p_.device,
                                [&](const NoisedBatch& batch, std::int64_t first, std::int64_t rows) {
                                  const auto part = [&](const at::Tensor& t) {
                                    return t.slice(0, first, first + rows).to(p_.frozen);
                                  };
                                  return model_.unet->forward(batch.noisy.to(p_.frozen), batch.timesteps, part(context),
                                                              part(pooled), part(ids));
                                });
  }

  double validation_loss() override {
    at::NoGradGuard no_grad;
    CudaAutocast autocast(autocast_on(), p_.precision);
    return training::validation_loss(
        val_, p_.device, [&](const at::Tensor& noisy, const at::Tensor& t, const at::Tensor& photos) {
          const auto [context, pooled] = pet_conditioning(photos);
          return model_.unet->forward(noisy.to(p_.frozen), t, context.to(p_.frozen), pooled.to(p_.frozen),
                                      p_.instance_ids.plain.index_select(0, photos).to(p_.frozen));
        });
  }

  std::optional<TrainPreview> preview(std::int64_t step, const std::atomic<bool>* cancel) override {
    if (p_.request.train_text_encoder) p_.sampler.forget_prompts();  // made with older encoder weights
    return make_previews(p_.sampler, p_.request, p_.preview_prompts, p_.resolution, step, cancel);
  }

  void export_result(std::int64_t steps_done) override {
    auto layers = models::collect_lora_layers(*model_.unet, "unet");
    if (p_.request.train_text_encoder) {
      for (auto& layer : models::collect_lora_layers(*model_.text_encoder, "text_encoder")) {
        layers.push_back(std::move(layer));
      }
      for (auto& layer : models::collect_lora_layers(*model_.text_encoder_2, "text_encoder_2")) {
        layers.push_back(std::move(layer));
      }
    }
    // What sd-scripts writes and A1111 reads to list the LoRA under SDXL.
    export_lora(
        p_.request, layers, families::sdxl_kohya_names(model_.unet->config),
        {{"ss_base_model_version", "sdxl_base_v1-0"}, {"modelspec.architecture", "stable-diffusion-xl-v1-base/lora"}},
        p_.resolution, steps_done, p_.result);
  }

  void set_training(bool training) override {
    model_.unet->train(training);
    if (p_.request.train_text_encoder) {
      model_.text_encoder->train(training);
      model_.text_encoder_2->train(training);
    }
  }

  std::string nan_advice() const override { return training::nan_advice(p_.request, p_.precision); }

 private:
  bool autocast_on() const { return !p_.device.is_cpu() && p_.precision != at::kFloat; }

  // The drawn photos' context and pooled vector, a row each; with trained text encoders the
  // prompts go through them at every step.
  std::pair<at::Tensor, at::Tensor> pet_conditioning(const at::Tensor& photos) {
    const std::int64_t n = photos.size(0);
    const PetPrompts& pet = p_.pet_prompts;
    if (!p_.request.train_text_encoder) {
      if (pet.captioned()) return {pet.rows("context", photos), pet.rows("pooled", photos)};
      const families::Conditioning& c = pet.encoded.front();
      return {c.at("context").expand({n, -1, -1}), c.at("pooled").expand({n, -1})};
    }
    if (!pet.captioned()) {
      const families::Conditioning c = encoded(p_.request.instance_prompt());
      return {c.at("context").expand({n, -1, -1}), c.at("pooled").expand({n, -1})};
    }
    std::vector<at::Tensor> contexts, pooled;
    for (const std::string& text : pet.texts_of(photos)) {
      const families::Conditioning c = encoded(text);
      contexts.push_back(c.at("context"));
      pooled.push_back(c.at("pooled"));
    }
    return {at::cat(contexts), at::cat(pooled)};
  }

  families::Conditioning class_conditioning() {
    return p_.request.train_text_encoder ? encoded(p_.request.class_prompt()) : p_.class_prompt;
  }

  families::Conditioning encoded(const std::string& prompt) {
    families::Conditioning c = p_.diffusion.encode(prompt, {}, p_.log);
    for (auto& [name, tensor] : c.tensors) tensor = tensor.to(at::kFloat);
    return c;
  }

  SdxlDreamBoothParts p_;
  families::StableDiffusionXL& model_;
  double scaling_;
  std::vector<ValidationBatch> val_;
};

}  // namespace

TrainResult train_sdxl_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks) {
  if (request.mode == "full") {
    throw Error(
        "full fine-tuning is for Stable Diffusion 1.x/2.x; an SDXL model trains LoRA adapters (--mode lora, the "
        "default), as its reference trainer does");
  }
  const LogSink& log = callbacks.log;
  TrainResult result;
  const auto cancelled = [&] { return callbacks.cancel != nullptr && callbacks.cancel->load(); };

  // 1. Device, precision and the base model: frozen weights in the compute precision (the VAE
  //    stays float32 in float16 runs, as its config asks), the adapters in float32.
  const auto [device, precision, load] = choose_training_placement(request, log);
  families::StableDiffusionXLModel diffusion(families::load_sdxl(request.model, load));
  families::StableDiffusionXL& model = diffusion.modules();
  if (cancelled()) return stopped_before_training(result, log);
  const std::int64_t resolution = request.resolution > 0
                                      ? request.resolution
                                      : model.unet->config.sample_size * diffusion.latent_format().spatial_factor;
  const at::TensorOptions frozen = model.unet->conv_in->weight.options();
  const at::TensorOptions vae_options = model.vae->post_quant_conv->weight.options();

  // 2. Photos, checked; their latents cached, their size ids kept.
  const std::vector<std::filesystem::path> photos =
      select_training_photos(request, resolution, device, precision, log, result);
  start_run_folder(request);

  pipeline::TextToImage sampler(diffusion);  // previews and class images
  const TrainingPhotos pet = load_pet_photos(request, photos, resolution, diffusion.latent_format().size_multiple, log);
  LatentGroups instance = encode_latent_groups(model.vae, pet, request.flip, vae_options, request.cache_latents);
  if (request.masked_loss) attach_loss_weights(instance, pet, request.mask_background_weight);
  if (cancelled()) return stopped_before_training(result, log);
  std::optional<LatentCache> prior;
  SizeIds class_ids;
  if (request.prior_count > 0) {
    const auto files = class_image_files(sampler, request, resolution, log, callbacks.cancel);
    if (cancelled()) return stopped_before_training(result, log);  // the class images made so far are kept
    const PhotoBatch class_batch = load_photo_batch(files, resolution);
    prior = encode_latents(model.vae, class_batch.pixels, request.flip, vae_options, request.cache_latents);
    class_ids = size_ids(class_batch.placements);
  }

  // 3. Both encoders' embeddings and pooled vectors, once; the encoders are then released
  //    (they are not trained).
  const std::vector<std::string> preview_prompts = training::preview_prompts(request);
  const TrainingPrompts prompts = encode_training_prompts(sampler, request, photos, preview_prompts, log);
  const bool train_te = request.train_text_encoder;
  if (!train_te) {
    model.text_encoder = nullptr;
    model.text_encoder_2 = nullptr;
  }
  if (request.cache_latents) release_vae_encoder(model.vae);

  // 4. What is trained: LoRA adapters (float32) on the UNet, and on both encoders with train_te.
  // The adapters are drawn on the CPU from the run's own seed, whatever the device (never the
  // process's global generator, which another job may be using).
  std::optional<at::Generator> init = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  NamedParameters trained = add_trained_lora(*model.unet, request.lora_targets, request, init, "", "UNet");
  if (train_te) {
    for (const auto& [encoder, prefix] :
         {std::pair{model.text_encoder, "text_encoder."}, std::pair{model.text_encoder_2, "text_encoder_2."}}) {
      for (auto& p :
           add_trained_lora(*encoder.ptr(), request.text_encoder_targets, request, init, prefix, "text encoder")) {
        trained.push_back(std::move(p));
      }
    }
  }
  log_trained_size(trained, log);
  if (request.gradient_checkpointing.value_or(false)) model.unet->enable_gradient_checkpointing(true);

  // 5. The loop.
  SdxlDreamBoothTask task({.request = request,
                           .diffusion = diffusion,
                           .sampler = sampler,
                           .instance = instance,
                           .instance_ids = size_ids(pet.placements),
                           .prior = prior,
                           .class_ids = class_ids,
                           .pet_prompts = prompts.pet,
                           .class_prompt = prompts.class_prompt,
                           .trained = trained,
                           .device = device,
                           .precision = precision,
                           .frozen = frozen,
                           .resolution = resolution,
                           .preview_prompts = preview_prompts,
                           .result = result,
                           .log = log});
  run_training_loop(task, request, precision, callbacks, result);
  return result;
}

}  // namespace pawtrait::training
