#include "families/stable_diffusion/dreambooth_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>

#include <cctype>
#include <cmath>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/json_file.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "families/stable_diffusion/stable_diffusion_model.h"
#include "imaging/png_text.h"
#include "models/clip_tokenizer.h"
#include "models/lora_export.h"
#include "models/lora_linear.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "runtime/runtime_info.h"
#include "schedulers/noise_process.h"
#include "tensors/safetensors_writer.h"
#include "training/class_images.h"
#include "training/photo_dataset.h"
#include "training/train_checkpoint.h"
#include "training/train_report.h"
#include "training/training_loop.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

// Each photo's latent distribution, computed once: (n, C, h, w) mean and std; a training
// example is mean + std · ε, a fresh draw every step, as if the VAE encoded it each time.
struct LatentCache {
  at::Tensor mean, std;                  // as encoded
  at::Tensor flipped_mean, flipped_std;  // of the mirrored photos (defined when flipping)
  // Without caching: the photos themselves, encoded again at every draw.
  at::Tensor images;
  models::AutoencoderKL vae{nullptr};
  at::TensorOptions options;
  std::int64_t size() const { return mean.size(0); }
};

LatentCache encode_latents(models::AutoencoderKL& vae, const at::Tensor& images, bool with_flips,
                           const at::TensorOptions& options, bool cached) {
  at::NoGradGuard no_grad;
  auto encode = [&](const at::Tensor& batch) {
    std::vector<at::Tensor> means, stds;
    for (std::int64_t i = 0; i < batch.size(0); ++i) {  // one at a time bounds the VAE's memory
      const auto posterior = vae->encode(batch.slice(0, i, i + 1).to(options));
      means.push_back(posterior.mean.to(at::kFloat));
      stds.push_back(posterior.std.to(at::kFloat));
    }
    return std::make_pair(at::cat(means), at::cat(stds));
  };
  LatentCache cache;
  std::tie(cache.mean, cache.std) = encode(images);
  if (with_flips) std::tie(cache.flipped_mean, cache.flipped_std) = encode(images.flip({3}));
  if (!cached) {
    cache.images = images;
    cache.vae = vae;
    cache.options = options;
  }
  return cache;
}

// `count` training latents drawn from the cache: random photo, random flip, posterior sample.
at::Tensor draw_latents(const LatentCache& cache, std::int64_t count, at::Generator& gen, double scaling_factor) {
  const at::Tensor index = at::randint(cache.size(), {count}, gen, at::kLong);
  if (cache.vae) {  // uncached: the VAE encodes this step's photos
    at::Tensor images = cache.images.index_select(0, index);
    if (cache.flipped_mean.defined()) {
      const at::Tensor flip = (at::rand({count}, gen) < 0.5).view({count, 1, 1, 1});
      images = at::where(flip, images.flip({3}), images);
    }
    at::NoGradGuard no_grad;
    models::AutoencoderKL vae = cache.vae;  // a handle: the module itself is shared
    const auto posterior = vae->encode(images.to(cache.options));
    const at::Tensor eps = at::randn(posterior.mean.sizes(), gen).to(posterior.mean.device());
    return (posterior.mean.to(at::kFloat) + posterior.std.to(at::kFloat) * eps) * scaling_factor;
  }
  at::Tensor mean = cache.mean.index_select(0, index.to(cache.mean.device()));
  at::Tensor std = cache.std.index_select(0, index.to(cache.std.device()));
  if (cache.flipped_mean.defined()) {
    const at::Tensor flip = (at::rand({count}, gen) < 0.5).view({count, 1, 1, 1}).to(mean.device());
    mean = at::where(flip, cache.flipped_mean.index_select(0, index.to(mean.device())), mean);
    std = at::where(flip, cache.flipped_std.index_select(0, index.to(mean.device())), std);
  }
  const at::Tensor eps = at::randn(mean.sizes(), gen).to(mean.device());
  return (mean + std * eps) * scaling_factor;
}

// Autocast on CUDA for the training forward, off again when leaving the scope.
class CudaAutocast {
 public:
  CudaAutocast(bool on, c10::ScalarType dtype) : on_(on) {
    if (!on_) return;
    previous_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
  }
  ~CudaAutocast() {
    if (!on_) return;
    at::autocast::set_autocast_enabled(at::kCUDA, previous_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
    at::autocast::clear_cache();
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool on_;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = at::kHalf;
};

std::string file_safe(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-') ? c : '_';
  return out;
}

}  // namespace

TrainRequest read_run_request(const fs::path& run_dir) {
  const fs::path file = run_dir / "config.json";
  if (const std::string kind = run_kind(run_dir); kind != "dreambooth") {
    throw Error(file.string() + " is not a Stable Diffusion training run (kind \"" + kind + "\")");
  }
  TrainRequest request = TrainRequest::from_json(read_json_file(file), file.string());
  request.run_dir = run_dir;
  return request;
}

namespace {

// What the loop needs of a prepared DreamBooth run: the base model with its adapters, the
// cached latents and prompt embeddings, the sampler for previews.
struct DreamBoothParts {
  const TrainRequest& request;
  models::StableDiffusion& model;
  pipeline::TextToImage& sampler;
  const schedulers::NoiseProcess& noise_process;
  const LatentCache& instance;
  const std::optional<LatentCache>& prior;
  at::Tensor instance_embeds, class_embeds;  // when the text encoder is not trained
  at::Tensor instance_ids, class_ids;        // when it is
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
    // 6. A fixed validation batch: the photos' posterior means at fixed timesteps and noise,
    //    so its loss moves only with the model (the training loss jumps with the random t).
    const double scaling = p_.model.architecture.vae.scaling_factor;
    n_val_ = std::min<std::int64_t>(p_.instance.size(), 4);
    val_t_ = p_.noise_process.validation_timesteps().repeat_interleave(n_val_);
    const at::Tensor val_x0 = (p_.instance.mean.slice(0, 0, n_val_) * scaling).repeat({5, 1, 1, 1});
    at::Generator val_gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    const at::Tensor val_noise = at::randn(val_x0.sizes(), val_gen).to(val_x0.device());
    val_xt_ = p_.noise_process.add_noise(val_x0, val_noise, val_t_.to(val_x0.device()));
    val_target_ = p_.noise_process.training_target(val_x0, val_noise, val_t_.to(val_x0.device()));
  }

  NamedParameters trainable() override { return p_.trained; }

  at::Tensor loss(at::Generator& gen) override {
    const TrainRequest& request = p_.request;
    const double scaling = p_.model.architecture.vae.scaling_factor;
    const std::int64_t B = request.batch_size;
    // A batch: the pet's latents, then as many class latents when preserving the prior.
    at::Tensor latents = draw_latents(p_.instance, B, gen, scaling);
    if (p_.prior) latents = at::cat({latents, draw_latents(*p_.prior, B, gen, scaling)});
    const std::int64_t n = latents.size(0);
    const at::Tensor t = p_.noise_process.sample_timesteps(n, gen).to(p_.device);
    at::Tensor noise = at::randn(latents.sizes(), gen);
    if (request.noise_offset > 0) noise = noise + request.noise_offset * at::randn({n, latents.size(1), 1, 1}, gen);
    noise = noise.to(p_.device);
    const at::Tensor noisy = p_.noise_process.add_noise(latents, noise, t);
    const at::Tensor target = p_.noise_process.training_target(latents, noise, t);
    CudaAutocast autocast(autocast_on(), p_.precision);
    at::Tensor context = prompt_embeddings(false).expand({B, -1, -1});
    if (p_.prior) context = at::cat({context, prompt_embeddings(true).expand({B, -1, -1})});
    const at::Tensor pred = p_.model.unet->forward(noisy.to(p_.frozen), t, context.to(p_.frozen)).to(at::kFloat);
    at::Tensor loss = (pred.slice(0, 0, B) - target.slice(0, 0, B)).pow(2).mean();
    if (p_.prior) loss = loss + request.prior_weight * (pred.slice(0, B) - target.slice(0, B)).pow(2).mean();
    return loss;
  }

  double validation_loss() override {
    at::NoGradGuard no_grad;
    CudaAutocast autocast(autocast_on(), p_.precision);
    double sum = 0;
    for (std::int64_t i = 0; i < val_xt_.size(0); i += n_val_) {
      const at::Tensor x = val_xt_.slice(0, i, i + n_val_);
      const at::Tensor pred =
          p_.model.unet->forward(x.to(p_.frozen), val_t_.slice(0, i, i + n_val_).to(p_.device),
                                 prompt_embeddings(false).expand({x.size(0), -1, -1}).to(p_.frozen));
      sum += (pred.to(at::kFloat) - val_target_.slice(0, i, i + n_val_)).pow(2).mean().item<double>();
    }
    return sum / 5.0;
  }

  std::optional<TrainPreview> preview(std::int64_t step, const std::atomic<bool>* cancel) override {
    TrainPreview preview;
    preview.step = step;
    if (p_.request.train_text_encoder) p_.sampler.forget_prompts();  // made with older text-encoder weights
    try {
      for (const auto& prompt : p_.preview_prompts) {
        pipeline::GenerateRequest r;
        r.prompt = prompt;
        r.sampler = "dpmpp_2m_karras";
        r.steps = p_.request.preview_steps;
        r.width = r.height = p_.resolution;
        r.seed = 42;
        pipeline::GenerateCallbacks stop_early;
        stop_early.cancel = cancel;  // Stop does not wait for the previews
        const auto images = p_.sampler.generate(r, stop_early);
        if (images.empty()) return std::nullopt;  // stopped half way
        preview.images.push_back({r.seed, p_.resolution, p_.resolution, images.at(0).rgb});
      }
    } catch (const Error& e) {  // a broken preview (NaN) must not end the run, nor pass silently
      log_to(p_.log, LogLevel::Warning, "preview at step " + std::to_string(step) + " failed: " + e.what());
      return std::nullopt;
    }
    const auto& prompts = p_.preview_prompts;
    save_preview(p_.request.run_dir, preview, {{"prompts", prompts[0] + " | " + prompts[1] + " | " + prompts[2]}});
    return preview;
  }

  void export_result(std::int64_t steps_done) override {
    const TrainRequest& request = p_.request;
    TrainResult& result = p_.result;
    if (request.mode == "full") {
      const fs::path out = request.run_dir / "model" / "unet";
      fs::create_directories(out);
      tensors::NamedTensors weights;
      for (const auto& [name, p] : p_.trained) weights.emplace_back(name, p.detach().cpu());
      tensors::write_safetensors(out / "diffusion_pytorch_model.safetensors", weights);
      result.model_dir = request.run_dir / "model";
      return;
    }
    auto layers = models::collect_lora_layers(*p_.model.unet, "unet");
    if (request.train_text_encoder) {
      for (auto& layer : models::collect_lora_layers(*p_.model.text_encoder, "text_encoder")) {
        layers.push_back(std::move(layer));
      }
    }
    const std::map<std::string, std::string> metadata = {
        {"ss_base_model", request.model.filename().string()},
        {"ss_training_comment", "Pawtrait DreamBooth LoRA: " + request.instance_prompt()},
        {"ss_steps", std::to_string(steps_done)},
        {"ss_resolution", std::to_string(p_.resolution)}};
    result.lora_kohya =
        request.run_dir / "lora" / (file_safe(request.token + "_" + request.class_name) + ".safetensors");
    result.lora_peft = request.run_dir / "lora" / "pytorch_lora_weights.safetensors";
    fs::create_directories(result.lora_kohya.parent_path());
    models::save_lora_kohya(result.lora_kohya, layers, metadata);
    models::save_lora_peft(result.lora_peft, layers, metadata);
  }

  void set_training(bool training) override { p_.model.unet->train(training); }

  std::string nan_advice() const override {
    return "Try a lower learning rate (this run: " + std::to_string(p_.request.effective_learning_rate()) + ")" +
           (p_.precision == at::kHalf ? ", or bf16 instead of fp16 (--mixed-precision bf16 or no)" : "") + ".";
  }

 private:
  bool autocast_on() const { return !p_.device.is_cpu() && p_.precision != at::kFloat; }

  // With a trained text encoder the prompts go through it at every step.
  at::Tensor prompt_embeddings(bool for_class) {
    if (!p_.request.train_text_encoder) return for_class ? p_.class_embeds : p_.instance_embeds;
    return p_.model.text_encoder->forward(for_class ? p_.class_ids : p_.instance_ids).last_hidden_state.to(at::kFloat);
  }

  DreamBoothParts p_;
  std::int64_t n_val_ = 0;
  at::Tensor val_t_, val_xt_, val_target_;
};

}  // namespace

TrainResult train_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks) {
  request.validate();
  if (request.run_dir.empty()) throw Error("no run folder given");
  if (request.model.empty()) throw Error("no base model given: pass a diffusers folder or a .safetensors file");
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
  // A Stop before the first step is a result too: nothing was trained, nothing is lost.
  const auto stopped_before_training = [&] {
    log_to(log, LogLevel::Info, "stopped before the first training step");
    result.stopped = true;
    return result;
  };
  if (cancelled()) return stopped_before_training();
  if (full && precision != at::kFloat) {  // the VAE and text encoder may still be halved
    model.vae->to(precision);
    model.text_encoder->to(precision);
  }
  const auto& arch = model.architecture;
  const std::int64_t resolution =
      request.resolution > 0 ? request.resolution : arch.unet.sample_size * arch.vae.downscale_factor();
  const at::TensorOptions frozen = at::TensorOptions().device(device).dtype(load.dtype);

  // 2. Photos, checked; their latents cached.
  const PhotoSelection photos = select_photos(request.photos, resolution, log);
  result.skipped_photos = photos.skipped;
  log_to(log, LogLevel::Info,
         "training on " + std::to_string(photos.usable.size()) + " photo(s) at " + std::to_string(resolution) + "×" +
             std::to_string(resolution) + " (" + request.mode + ", " + (device.is_cpu() ? "CPU" : "CUDA") + ", " +
             c10::toString(precision) + ")");

  fs::create_directories(request.run_dir / "previews");
  if (!request.resume) {
    if (fs::exists(request.run_dir / "checkpoints") && latest_checkpoint(request.run_dir)) {
      throw Error(request.run_dir.string() +
                  " already holds a training run; resume it with --resume, or choose a new --out folder");
    }
    write_file_atomically(request.run_dir / "config.json", request.to_json().dump(2) + "\n");
  }

  families::StableDiffusionModel diffusion(model, models::load_tokenizer(model));
  pipeline::TextToImage sampler(diffusion);  // previews and class images
  const LatentCache instance = encode_latents(model.vae, photos_to_tensor(photos.usable, resolution, request.crops),
                                              request.flip, frozen, request.cache_latents);
  if (cancelled()) return stopped_before_training();
  std::optional<LatentCache> prior;
  if (request.prior_count > 0) {
    at::NoGradGuard no_grad;
    const fs::path folder =
        class_images_folder(request.class_images_dir, request.model, request.class_prompt(), resolution);
    const auto files = ensure_class_images(sampler, folder, request.class_prompt(), request.prior_count, resolution,
                                           log, callbacks.cancel);
    if (cancelled()) return stopped_before_training();  // the class images made so far are kept
    prior = encode_latents(model.vae, photos_to_tensor(files, resolution), request.flip, frozen, request.cache_latents);
  }

  // 3. Prompt embeddings, once; the text encoder is then released (it is not trained).
  const std::vector<std::string> preview_prompts = {
      request.instance_prompt(), request.token + " " + request.class_name + " wearing a tiny party hat, watercolor",
      request.class_prompt()};
  at::Tensor instance_embeds, class_embeds;
  {
    at::NoGradGuard no_grad;
    instance_embeds = sampler.encode_prompt(request.instance_prompt(), 0, log).at("context").to(at::kFloat);
    class_embeds = sampler.encode_prompt(request.class_prompt(), 0, log).at("context").to(at::kFloat);
    // The sampler keeps every embedding it made; the previews only ever use these.
    for (const auto& p : preview_prompts) sampler.encode_prompt(p, 0);
    sampler.encode_negative(std::nullopt, 0);  // the previews have no negative prompt
  }
  const bool train_te = request.train_text_encoder;
  if (!train_te) model.text_encoder = nullptr;
  if (request.cache_latents) {  // the previews only decode
    model.vae->unregister_module("encoder");
    model.vae->unregister_module("quant_conv");
    model.vae->encoder = nullptr;
    model.vae->quant_conv = nullptr;
  }

  const models::ClipTokenizer tokenizer = models::load_tokenizer(model);
  auto token_ids = [&](const std::string& prompt) {
    return at::tensor(tokenizer(prompt), at::kLong).view({1, -1}).to(device);
  };

  // 4. What is trained: LoRA adapters (float32) or every UNet weight.
  models::UNet2DConditionModel& unet = model.unet;
  at::manual_seed(request.seed);
  NamedParameters trained;
  if (full) {
    for (const auto& item : unet->named_parameters()) trained.emplace_back(item.key(), item.value());
  } else {
    for (auto& p : unet->parameters()) p.set_requires_grad(false);
    std::optional<at::Generator> init;
    if (device.is_cpu()) init = at::make_generator<at::CPUGeneratorImpl>(request.seed);
    const auto adapters = models::add_lora_adapters(*unet, request.lora_targets, request.rank, request.alpha,
                                                    models::LoraInit::Kaiming, init);
    if (adapters.empty()) {
      throw Error("none of the LoRA target modules (" + [&] {
        std::string names;
        for (const auto& t : request.lora_targets) names += (names.empty() ? "" : ", ") + t;
        return names;
      }() + ") exist in this UNet");
    }
    for (const auto& item : unet->named_parameters()) {
      if (item.value().requires_grad()) trained.emplace_back(item.key(), item.value());
    }
    if (train_te) {
      for (auto& p : model.text_encoder->parameters()) p.set_requires_grad(false);
      if (models::add_lora_adapters(*model.text_encoder, request.text_encoder_targets, request.rank, request.alpha,
                                    models::LoraInit::Kaiming, init)
              .empty()) {
        throw Error("none of the text-encoder LoRA target modules exist in this text encoder");
      }
      for (const auto& item : model.text_encoder->named_parameters()) {
        if (item.value().requires_grad()) trained.emplace_back("text_encoder." + item.key(), item.value());
      }
    }
  }
  std::int64_t trained_count = 0;
  for (const auto& [name, p] : trained) trained_count += p.numel();
  log_to(log, LogLevel::Info,
         "training " + std::to_string(trained_count) + " parameters in " + std::to_string(trained.size()) + " tensors");
  if (request.gradient_checkpointing) unet->enable_gradient_checkpointing(true);

  // 5. The loop: AdamW after the warm-up with the schedule, accumulation, clipping, the
  //    float16 loss scale, the EMA (previews and the export use it), checkpoints, resume.
  DreamBoothTask task({.request = request,
                       .model = model,
                       .sampler = sampler,
                       .noise_process = diffusion.noise_process(),
                       .instance = instance,
                       .prior = prior,
                       .instance_embeds = instance_embeds,
                       .class_embeds = class_embeds,
                       .instance_ids = token_ids(request.instance_prompt()),
                       .class_ids = token_ids(request.class_prompt()),
                       .trained = trained,
                       .device = device,
                       .precision = precision,
                       .frozen = frozen,
                       .resolution = resolution,
                       .preview_prompts = preview_prompts,
                       .result = result,
                       .log = log});
  LoopSettings settings;
  settings.run_dir = request.run_dir;
  settings.resume = request.resume;
  settings.seed = request.seed;
  settings.steps = request.steps;
  settings.learning_rate = request.effective_learning_rate();
  settings.lr_schedule = request.lr_schedule;
  settings.warmup_steps = request.warmup_steps;
  settings.grad_accum = request.grad_accum;
  settings.max_grad_norm = request.max_grad_norm;
  settings.weight_decay = request.weight_decay;
  if (request.ema) settings.ema_decay = request.ema_decay;
  settings.fp16_loss_scaling = precision == at::kHalf;
  settings.validate_every = request.validate_every;
  settings.checkpoint_every = request.checkpoint_every;
  settings.preview_every = request.preview_every;
  TrainingLoop loop(task, settings, callbacks);
  const LoopResult done = loop.run();
  result.steps_done = done.steps_done;
  result.final_smoothed_loss = done.final_smoothed_loss;
  result.stopped = done.stopped;
  result.checkpoint = done.checkpoint;
  if (full) {
    // The rest of the diffusers folder comes from the base: configs, tokenizer, scheduler,
    // and (from a base folder) the VAE and text encoder weights.
    const bool base_is_folder = fs::is_directory(request.model);
    const fs::path base = base_is_folder ? request.model : request.model_config;
    if (!base.empty()) {
      for (const auto& entry : fs::recursive_directory_iterator(base)) {
        if (entry.is_directory()) continue;
        const fs::path relative = fs::relative(entry.path(), base);
        const bool weights = relative.extension() == ".safetensors";
        if (weights && (!base_is_folder || relative.begin()->string() == "unet")) continue;
        fs::create_directories((result.model_dir / relative).parent_path());
        fs::copy_file(entry.path(), result.model_dir / relative, fs::copy_options::overwrite_existing);
      }
    }
    if (!base_is_folder) {
      log_to(log, LogLevel::Warning,
             "the base model is a single file, so " + result.model_dir.string() +
                 " holds the fine-tuned UNet alone; the VAE and text encoder stay those of " + request.model.string());
    }
  }
  return result;
}

}  // namespace pawtrait::training
