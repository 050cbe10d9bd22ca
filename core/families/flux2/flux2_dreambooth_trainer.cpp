#include "families/flux2/flux2_dreambooth_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <optional>

#include "common/error.h"
#include "families/flux2/flux2_latents.h"
#include "families/flux2/flux2_model.h"
#include "families/flux2/flux2_preview_model.h"
#include "families/flux2/flux2_text_encoding.h"
#include "models/lora_export.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "training/cuda_autocast.h"
#include "training/dreambooth_run.h"
#include "training/photo_dataset.h"

namespace pawtrait::training {

const std::vector<std::string> kKleinLoraTargets = {"to_k",       "to_q", "to_v", "to_out.0", "to_qkv_mlp_proj",
                                                    "attn.to_out"};

namespace {

// The photos' latents in the transformer's space: the posterior's mode (the reference uses
// latent_dist.mode(), never a sample), patchified and BN-normalised. A zero std makes every
// draw the mode.
void to_klein_space(LatentCache& cache, models::AutoencoderKL& vae) {
  at::NoGradGuard no_grad;
  const auto convert = [&](const at::Tensor& mean) {
    return families::flux2_latents::normalize(families::flux2_latents::patchify(mean.to(at::kFloat)), vae)
        .to(at::kFloat);
  };
  cache.mean = convert(cache.mean);
  cache.std = at::zeros_like(cache.mean);
  if (cache.flipped_mean.defined()) {
    cache.flipped_mean = convert(cache.flipped_mean);
    cache.flipped_std = at::zeros_like(cache.flipped_mean);
  }
}

struct KleinDreamBoothParts {
  const TrainRequest& request;
  families::Flux2KleinModel& diffusion;
  pipeline::TextToImage& sampler;
  const LatentGroups& instance;
  const std::optional<LatentCache>& prior;
  const PetPrompts& pet_prompts;
  families::Conditioning class_prompt;
  NamedParameters trained;
  c10::Device device;
  c10::ScalarType precision;
  at::TensorOptions frozen;
  std::int64_t resolution;
  std::vector<std::string> preview_prompts;
  KleinPreviewModel* preview_model;  // null: the previews are the trained model's
  TrainResult& result;
  LogSink log;
};

class KleinDreamBoothTask : public TrainingTask {
 public:
  explicit KleinDreamBoothTask(KleinDreamBoothParts parts) : p_(std::move(parts)), model_(p_.diffusion.modules()) {
    val_ = make_validation_batches(p_.diffusion.noise_process(), p_.instance, 1.0);
  }

  NamedParameters trainable() override { return p_.trained; }

  at::Tensor loss(at::Generator& gen) override {
    const std::int64_t B = p_.request.batch_size;
    const LatentDraw pet = draw_latents(p_.instance, B, gen, 1.0);
    const at::Tensor class_latents = p_.prior ? draw_latents(*p_.prior, B, gen, 1.0).latents : at::Tensor();
    CudaAutocast autocast(autocast_on(), p_.precision);
    at::Tensor context = pet_context(pet.index);
    if (p_.prior) context = at::cat({context, p_.class_prompt.at("context").expand({B, -1, -1})});
    return dreambooth_step_loss(p_.diffusion.noise_process(), pet, class_latents, p_.request, gen, p_.device,
                                [&](const NoisedBatch& batch, std::int64_t first, std::int64_t rows) {
                                  return predict(batch.noisy, batch.timesteps, context.slice(0, first, first + rows));
                                });
  }

  double validation_loss() override {
    at::NoGradGuard no_grad;
    CudaAutocast autocast(autocast_on(), p_.precision);
    return training::validation_loss(val_, p_.device,
                                     [&](const at::Tensor& noisy, const at::Tensor& t, const at::Tensor& photos) {
                                       return predict(noisy, t, pet_context(photos));
                                     });
  }

  std::optional<TrainPreview> preview(std::int64_t step, const std::atomic<bool>* cancel) override {
    if (p_.preview_model != nullptr) {
      return p_.preview_model->draw(p_.diffusion, p_.trained, p_.request, p_.preview_prompts, p_.resolution, step,
                                    cancel);
    }
    return make_previews(p_.sampler, p_.request, p_.preview_prompts, p_.resolution, step, cancel);
  }

  void export_result(std::int64_t steps_done) override {
    const auto layers = models::collect_lora_layers(*model_.transformer, "transformer");
    std::map<std::string, std::string> metadata = {
        {"ss_base_model", p_.request.model.filename().string()},
        {"ss_training_comment", "Pawtrait DreamBooth LoRA: " + p_.request.instance_prompt()},
        {"ss_steps", std::to_string(steps_done)},
        {"ss_resolution", std::to_string(p_.resolution)},
        {"modelspec.architecture", "flux-2-klein-4b/lora"}};
    // The diffusers layout (transformer.<module>.lora_A/lora_B, α/r folded in), which
    // diffusers' load_lora_weights and ComfyUI read.
    p_.result.lora_peft = p_.request.run_dir / "lora" / "pytorch_lora_weights.safetensors";
    std::filesystem::create_directories(p_.result.lora_peft.parent_path());
    models::save_lora_peft(p_.result.lora_peft, layers, metadata);
  }

  void set_training(bool training) override { model_.transformer->train(training); }

  std::string nan_advice() const override { return training::nan_advice(p_.request, p_.precision); }

 private:
  bool autocast_on() const { return !p_.device.is_cpu() && p_.precision != at::kFloat; }

  // The drawn photos' prompts, a row each.
  at::Tensor pet_context(const at::Tensor& photos) const {
    const PetPrompts& pet = p_.pet_prompts;
    return pet.captioned() ? pet.rows("context", photos)
                           : pet.encoded.front().at("context").expand({photos.size(0), -1, -1});
  }

  // The transformer on patchified latents (b, 128, h, w) at timesteps t (σ·1000): packed in,
  // unpacked out, as the reference script does.
  at::Tensor predict(const at::Tensor& noisy, const at::Tensor& t, const at::Tensor& context) {
    namespace latents = families::flux2_latents;
    const std::int64_t h = noisy.size(2), w = noisy.size(3);
    const at::Tensor out = model_.transformer->forward(
        latents::pack(noisy).to(p_.frozen), context.to(p_.frozen), (t.to(at::kFloat) / 1000).to(p_.frozen),
        latents::image_position_ids(h, w).to(p_.device), families::text_position_ids(context.size(1)).to(p_.device));
    return latents::unpack(out, h, w);
  }

  KleinDreamBoothParts p_;
  families::Flux2Klein& model_;
  std::vector<ValidationBatch> val_;
};

}  // namespace

TrainResult train_flux2_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks) {
  if (request.mode == "full") {
    throw Error(
        "full fine-tuning is for Stable Diffusion 1.x/2.x; a FLUX.2 [klein] model trains LoRA adapters "
        "(--mode lora, the default), as its reference trainer does");
  }
  if (request.train_text_encoder) {
    throw Error(
        "training the text encoder is not supported for FLUX.2 [klein] (its reference trainer keeps it "
        "frozen); leave --train-text-encoder off");
  }
  const LogSink& log = callbacks.log;
  TrainResult result;
  const auto cancelled = [&] { return callbacks.cancel != nullptr && callbacks.cancel->load(); };

  // 1. Device, precision and the model: frozen weights in the compute precision, adapters in float32.
  const auto [device, precision, load] = choose_training_placement(request, log);
  families::Flux2KleinModel diffusion(families::load_flux2_klein(request.model, load));
  families::Flux2Klein& model = diffusion.modules();
  if (model.is_distilled) {
    log_to(log, LogLevel::Warning,
           "this is the distilled klein model; LoRAs train best on the base model "
           "(black-forest-labs/FLUX.2-klein-base-4B) and apply to the distilled one");
  }
  const std::unique_ptr<KleinPreviewModel> preview_model = KleinPreviewModel::open(request, model, load, log);
  if (preview_model) result.generate_with = preview_model->folder();
  if (cancelled()) return stopped_before_training(result, log);
  const std::int64_t resolution = request.resolution > 0 ? request.resolution : diffusion.defaults().size;
  const at::TensorOptions vae_options = model.vae->decoder->conv_in->weight.options();

  // 2. Photos, checked; their latents cached in the transformer's space.
  const std::vector<std::filesystem::path> photos =
      select_training_photos(request, resolution, device, precision, log, result);
  start_run_folder(request);
  pipeline::TextToImage sampler(diffusion);  // previews and class images
  const TrainingPhotos pet = load_pet_photos(request, photos, resolution, diffusion.latent_format().size_multiple, log);
  LatentGroups instance = encode_latent_groups(model.vae, pet, request.flip, vae_options, /*cached=*/true);
  for (LatentCache& group : instance) to_klein_space(group, model.vae);
  if (request.masked_loss) attach_loss_weights(instance, pet, request.mask_background_weight);  // the packed grid
  if (cancelled()) return stopped_before_training(result, log);
  std::optional<LatentCache> prior;
  if (request.prior_count > 0) {
    const auto files = class_image_files(sampler, request, resolution, log, callbacks.cancel);
    if (cancelled()) return stopped_before_training(result, log);
    const PhotoBatch class_batch = load_photo_batch(files, resolution);
    prior = encode_latents(model.vae, class_batch.pixels, request.flip, vae_options, /*cached=*/true);
    to_klein_space(*prior, model.vae);
  }

  // 3. The prompt embeddings once; the text encoder is then released (8 GB in bf16), and on a
  //    GPU the transformer takes its place.
  const std::vector<std::string> preview_prompts = training::preview_prompts(request);
  const TrainingPrompts prompts = encode_training_prompts(
      sampler, request, photos, preview_model ? std::vector<std::string>{} : preview_prompts, log);
  model.text_encoder = models::Qwen3TextModel(nullptr);
  release_vae_encoder(model.vae);
  if (preview_model) preview_model->encode(preview_prompts, log);
  diffusion.transformer_to_device();
  const at::TensorOptions frozen = model.transformer->x_embedder->weight.options();

  // 4. LoRA adapters (float32) on the transformer: the reference script's targets unless the
  //    request names others.
  const std::vector<std::string> sd_default = TrainRequest{}.lora_targets;
  const std::vector<std::string>& targets =
      request.lora_targets == sd_default ? kKleinLoraTargets : request.lora_targets;
  // The adapters are drawn on the CPU from the run's own seed, whatever the device (never the
  // process's global generator, which another job may be using).
  std::optional<at::Generator> init = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  NamedParameters trained = add_trained_lora(*model.transformer, targets, request, init, "", "transformer");
  log_trained_size(trained, log);
  if (preview_model) preview_model->add_adapters(targets, request);
  model.transformer->gradient_checkpointing = request.gradient_checkpointing.value_or(!device.is_cpu());
  if (!request.gradient_checkpointing && !device.is_cpu()) {
    log_to(log, LogLevel::Info,
           "gradient checkpointing: on, the default for FLUX.2 [klein] on a GPU (slower steps, far less memory "
           "for activations); --no-gradient-checkpointing turns it off");
  }

  // 5. The loop.
  KleinDreamBoothTask task({.request = request,
                            .diffusion = diffusion,
                            .sampler = sampler,
                            .instance = instance,
                            .prior = prior,
                            .pet_prompts = prompts.pet,
                            .class_prompt = prompts.class_prompt,
                            .trained = trained,
                            .device = device,
                            .precision = precision,
                            .frozen = frozen,
                            .resolution = resolution,
                            .preview_prompts = preview_prompts,
                            .preview_model = preview_model.get(),
                            .result = result,
                            .log = log});
  run_training_loop(task, request, precision, callbacks, result);
  return result;
}

}  // namespace pawtrait::training
