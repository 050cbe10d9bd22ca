#include "training/dreambooth_run.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>

#include "common/atomic_file.h"
#include "common/error.h"
#include "imaging/photo_mask.h"
#include "models/lora_linear.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "schedulers/noise_process.h"
#include "training/class_images.h"
#include "training/photo_dataset.h"
#include "training/train_checkpoint.h"
#include "training/train_report.h"

namespace pawtrait::training {

namespace fs = std::filesystem;

std::vector<fs::path> select_training_photos(const TrainRequest& request, std::int64_t resolution, c10::Device device,
                                             c10::ScalarType precision, const LogSink& log, TrainResult& result) {
  PhotoSelection photos = select_photos(request.photos, resolution, log);
  result.skipped_photos = photos.skipped;
  log_to(log, LogLevel::Info,
         "training on " + std::to_string(photos.usable.size()) + " photo(s) at " + std::to_string(resolution) + "×" +
             std::to_string(resolution) + " (" + request.mode + ", " + (device.is_cpu() ? "CPU" : "CUDA") + ", " +
             c10::toString(precision) + ")");
  return std::move(photos.usable);
}

TrainingPhotos load_pet_photos(const TrainRequest& request, const std::vector<fs::path>& photos,
                               std::int64_t resolution, std::int64_t size_multiple, const LogSink& log) {
  const bool buckets = request.crop == "buckets";
  TrainingPhotos pictures =
      load_training_photos(photos, resolution, buckets ? imaging::bucket_step(resolution, size_multiple) : 0,
                           request.edits, request.masked_loss);
  log_to(log, LogLevel::Info,
         std::string(buckets ? "aspect-ratio buckets: " : "square crops: ") + describe_groups(pictures));
  if (request.masked_loss) {
    std::int64_t sidecars = 0;
    for (const fs::path& photo : photos) sidecars += fs::exists(imaging::mask_sidecar_path(photo)) ? 1 : 0;
    log_to(log, LogLevel::Info,
           "masked loss: the background counts " + c10::str(request.mask_background_weight) + "; " +
               std::to_string(sidecars) + " of " + std::to_string(photos.size()) +
               " photo(s) with a mask file, the others masked by their suggested subject box");
  }
  return pictures;
}

TrainResult stopped_before_training(TrainResult& result, const LogSink& log) {
  log_to(log, LogLevel::Info, "stopped before the first training step");
  result.stopped = true;
  return result;
}

std::vector<fs::path> class_image_files(pipeline::TextToImage& sampler, const TrainRequest& request,
                                        std::int64_t resolution, const LogSink& log, const std::atomic<bool>* cancel) {
  at::NoGradGuard no_grad;
  const fs::path folder =
      class_images_folder(request.class_images_dir, request.model, request.class_prompt(), resolution);
  return ensure_class_images(sampler, folder, request.class_prompt(), request.prior_count, resolution, log, cancel);
}

TrainingPlacement choose_training_placement(const TrainRequest& request, const LogSink& log) {
  TrainingPlacement p;
  p.device = runtime::choose_device(request.device, "training", log);
  p.precision = runtime::choose_mixed_precision(request.mixed_precision, p.device, log);
  p.load.device = p.device;
  p.load.dtype = p.precision;
  if (!request.model_config.empty()) p.load.model_config = request.model_config;
  p.load.log = log;
  log_to(log, LogLevel::Info, "loading " + request.model.string());
  return p;
}

at::Tensor PetPrompts::rows(const std::string& key, const at::Tensor& photos) const {
  std::vector<at::Tensor> out;
  const at::Tensor on_cpu = photos.to(at::kCPU, at::kLong).contiguous();
  const auto* index = on_cpu.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < photos.size(0); ++i) {
    out.push_back(encoded.at(static_cast<std::size_t>(of_photo.at(static_cast<std::size_t>(index[i])))).at(key));
  }
  return at::cat(out);
}

std::vector<std::string> PetPrompts::texts_of(const at::Tensor& photos) const {
  std::vector<std::string> out;
  const at::Tensor on_cpu = photos.to(at::kCPU, at::kLong).contiguous();
  const auto* index = on_cpu.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < photos.size(0); ++i) {
    out.push_back(texts.at(static_cast<std::size_t>(of_photo.at(static_cast<std::size_t>(index[i])))));
  }
  return out;
}

TrainingPrompts encode_training_prompts(pipeline::TextToImage& sampler, const TrainRequest& request,
                                        const std::vector<fs::path>& photos,
                                        const std::vector<std::string>& preview_prompts, const LogSink& log) {
  at::NoGradGuard no_grad;
  auto in_float = [](families::Conditioning c) {
    for (auto& [name, tensor] : c.tensors) tensor = tensor.to(at::kFloat);
    return c;
  };
  TrainingPrompts prompts{in_float(sampler.encode_prompt(request.instance_prompt(), {}, log)),
                          in_float(sampler.encode_prompt(request.class_prompt(), {}, log)),
                          {}};
  PetPrompts& pet = prompts.pet;
  pet.texts = {request.instance_prompt()};
  pet.encoded = {prompts.instance};
  std::int64_t captioned = 0;
  for (const fs::path& photo : photos) {
    const std::string text = request.instance_prompt(photo);
    auto known = std::find(pet.texts.begin(), pet.texts.end(), text);
    if (known == pet.texts.end()) {
      pet.texts.push_back(text);
      pet.encoded.push_back(in_float(sampler.encode_prompt(text, {}, log)));
      known = std::prev(pet.texts.end());
    }
    captioned += known != pet.texts.begin();
    pet.of_photo.push_back(known - pet.texts.begin());
  }
  if (captioned > 0) {
    log_to(log, LogLevel::Info,
           std::to_string(captioned) + " photo(s) with a caption, e.g. \"" + pet.texts.at(1) +
               "\"; the previews show the plain \"" + request.instance_prompt() + "\"");
  }
  for (const auto& p : preview_prompts) sampler.encode_prompt(p);
  sampler.encode_negative(std::nullopt);  // the previews have no negative prompt
  return prompts;
}

void release_vae_encoder(models::AutoencoderKL& vae) {
  vae->unregister_module("encoder");
  vae->encoder = nullptr;
  if (vae->quant_conv) {
    vae->unregister_module("quant_conv");
    vae->quant_conv = nullptr;
  }
}

NoisedBatch noise_batch(const schedulers::NoiseProcess& noise_process, const at::Tensor& latents,
                        const TrainRequest& request, at::Generator& gen, c10::Device device) {
  const std::int64_t n = latents.size(0);
  NoisedBatch b;
  b.timesteps = noise_process.sample_timesteps(n, gen).to(device);
  at::Tensor noise = at::randn(latents.sizes(), gen);
  if (request.noise_offset > 0) noise = noise + request.noise_offset * at::randn({n, latents.size(1), 1, 1}, gen);
  noise = noise.to(device);
  const at::Tensor x0 = latents.to(device);
  b.noisy = noise_process.add_noise(x0, noise, b.timesteps);
  b.target = noise_process.training_target(x0, noise, b.timesteps);
  return b;
}

at::Tensor weighted_mse(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& weights) {
  if (!weights.defined()) return (prediction - target).pow(2).mean();
  const at::Tensor w = weights.to(prediction.device(), prediction.scalar_type()).expand_as(prediction);
  // An all-black mask with a background weight of 0 teaches nothing: 0, not 0 / 0.
  return (w * (prediction - target).pow(2)).sum() / w.sum().clamp_min(1e-12);
}

at::Tensor dreambooth_loss(const at::Tensor& prediction, const at::Tensor& target, const TrainRequest& request,
                           bool prior, const at::Tensor& pet_weights) {
  const std::int64_t b = request.batch_size;
  at::Tensor loss = weighted_mse(prediction.slice(0, 0, b), target.slice(0, 0, b), pet_weights);
  if (prior) loss = loss + request.prior_weight * (prediction.slice(0, b) - target.slice(0, b)).pow(2).mean();
  return loss;
}

at::Tensor dreambooth_step_loss(const schedulers::NoiseProcess& noise_process, const LatentDraw& pet_draw,
                                const at::Tensor& class_latents, const TrainRequest& request, at::Generator& gen,
                                c10::Device device, const DreamBoothForward& forward) {
  const at::Tensor& pet_latents = pet_draw.latents;
  const bool prior = class_latents.defined();
  if (!prior || pet_latents.sizes() == class_latents.sizes()) {
    const at::Tensor latents = prior ? at::cat({pet_latents, class_latents}) : pet_latents;
    const NoisedBatch batch = noise_batch(noise_process, latents, request, gen, device);
    return dreambooth_loss(forward(batch, 0, latents.size(0)).to(at::kFloat), batch.target, request, prior,
                           pet_draw.weights);
  }
  const std::int64_t b = pet_latents.size(0);
  const NoisedBatch pet = noise_batch(noise_process, pet_latents, request, gen, device);
  const NoisedBatch cls = noise_batch(noise_process, class_latents, request, gen, device);
  const at::Tensor pet_loss = weighted_mse(forward(pet, 0, b).to(at::kFloat), pet.target, pet_draw.weights);
  const at::Tensor class_loss = (forward(cls, b, class_latents.size(0)).to(at::kFloat) - cls.target).pow(2).mean();
  return pet_loss + request.prior_weight * class_loss;
}

double validation_loss(const std::vector<ValidationBatch>& batches, c10::Device device,
                       const ValidationPredict& predict) {
  at::NoGradGuard no_grad;
  double weighted = 0;
  std::int64_t photos = 0;
  for (const ValidationBatch& batch : batches) {
    const std::int64_t n = batch.photos;
    double sum = 0;
    std::int64_t rounds = 0;
    for (std::int64_t i = 0; i < batch.noisy.size(0); i += n, ++rounds) {
      const at::Tensor pred =
          predict(batch.noisy.slice(0, i, i + n), batch.timesteps.slice(0, i, i + n).to(device), batch.photo_index);
      sum += (pred.to(at::kFloat) - batch.target.slice(0, i, i + n)).pow(2).mean().item<double>();
    }
    weighted += sum / static_cast<double>(rounds) * static_cast<double>(n);
    photos += n;
  }
  return weighted / static_cast<double>(photos);
}

void log_trained_size(const NamedParameters& trained, const LogSink& log) {
  std::int64_t count = 0;
  for (const auto& [name, p] : trained) count += p.numel();
  log_to(log, LogLevel::Info,
         "training " + std::to_string(count) + " parameters in " + std::to_string(trained.size()) + " tensors");
}

void run_training_loop(TrainingTask& task, const TrainRequest& request, c10::ScalarType precision,
                       const TrainCallbacks& callbacks, TrainResult& result) {
  TrainingLoop loop(task, loop_settings(request, precision), callbacks);
  const LoopResult done = loop.run();
  result.steps_done = done.steps_done;
  result.final_smoothed_loss = done.final_smoothed_loss;
  result.stopped = done.stopped;
  result.checkpoint = done.checkpoint;
}

void start_run_folder(const TrainRequest& request) {
  fs::create_directories(request.run_dir / "previews");
  remove_abandoned_temporaries(request.run_dir);  // a killed run's half-written files
  if (request.resume) return;
  if (fs::exists(request.run_dir / "checkpoints") && latest_checkpoint(request.run_dir)) {
    throw Error(request.run_dir.string() +
                " already holds a training run; resume it with --resume, or choose a new --out folder");
  }
  write_file_atomically(request.run_dir / "config.json", request.to_json().dump(2) + "\n");
}

std::vector<std::string> preview_prompts(const TrainRequest& request) {
  return {request.instance_prompt(), request.token + " " + request.class_name + " wearing a tiny party hat, watercolor",
          request.class_prompt()};
}

NamedParameters add_trained_lora(torch::nn::Module& module, const std::vector<std::string>& targets,
                                 const TrainRequest& request, std::optional<at::Generator>& init,
                                 const std::string& prefix, const std::string& what) {
  for (auto& p : module.parameters()) p.set_requires_grad(false);
  if (models::add_lora_adapters(module, targets, request.rank, request.alpha, models::LoraInit::Kaiming, init)
          .empty()) {
    std::string names;
    for (const auto& t : targets) names += (names.empty() ? "" : ", ") + t;
    throw Error("none of the LoRA target modules (" + names + ") exist in this " + what);
  }
  NamedParameters trained;
  for (const auto& item : module.named_parameters()) {
    if (item.value().requires_grad()) trained.emplace_back(prefix + item.key(), item.value());
  }
  return trained;
}

std::vector<ValidationBatch> make_validation_batches(const schedulers::NoiseProcess& noise_process,
                                                     const LatentGroups& photos, double scaling_factor) {
  constexpr std::int64_t kValidated = 4;  // the first photos
  std::vector<ValidationBatch> batches;
  for (const LatentCache& group : photos) {
    std::vector<std::int64_t> rows, photo_index;
    for (std::int64_t row = 0; row < group.size(); ++row) {
      if (group.photo(row) < kValidated) {
        rows.push_back(row);
        photo_index.push_back(group.photo(row));
      }
    }
    if (rows.empty()) continue;
    ValidationBatch v;
    v.photos = static_cast<std::int64_t>(rows.size());
    v.photo_index = at::tensor(photo_index, at::kLong);
    v.timesteps = noise_process.validation_timesteps().repeat_interleave(v.photos);
    const at::Tensor means = group.mean.index_select(0, at::tensor(rows, at::kLong).to(group.mean.device()));
    const at::Tensor x0 = (means * scaling_factor).repeat({5, 1, 1, 1});
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    const at::Tensor noise = at::randn(x0.sizes(), gen).to(x0.device());
    const at::Tensor t = v.timesteps.to(x0.device());
    v.noisy = noise_process.add_noise(x0, noise, t);
    v.target = noise_process.training_target(x0, noise, t);
    batches.push_back(std::move(v));
  }
  return batches;
}

std::optional<TrainPreview> make_previews(pipeline::TextToImage& sampler, const TrainRequest& request,
                                          const std::vector<std::string>& prompts, std::int64_t resolution,
                                          std::int64_t step, const std::atomic<bool>* cancel) {
  TrainPreview preview;
  preview.step = step;
  std::string sampling;  // how they were drawn, kept in the strip's PNG text
  // A preview that throws (NaN, out of memory) is skipped with a warning by the training loop.
  for (const auto& prompt : prompts) {
    pipeline::GenerateRequest r;
    r.prompt = prompt;
    r.sampler = sampler.picture_sampler();
    r.guidance = sampler.model().defaults().guidance;
    // A step-distilled model (klein's 4-step) draws in its own step count, not the previews' 25.
    r.steps = sampler.model().uses_guidance() ? request.preview_steps : sampler.model().defaults().steps;
    r.width = r.height = resolution;
    r.seed = 42;
    pipeline::GenerateCallbacks stop_early;
    stop_early.cancel = cancel;  // Stop does not wait for the previews
    sampling = r.sampler + ", " + std::to_string(r.steps) + " steps, guidance " + c10::str(r.guidance);
    const auto images = sampler.generate(r, stop_early);
    if (images.empty()) return std::nullopt;  // stopped half way
    preview.images.push_back({r.seed, resolution, resolution, images.at(0).rgb});
  }
  std::string joined;
  for (const auto& p : prompts) joined += (joined.empty() ? "" : " | ") + p;
  save_preview(request.run_dir, preview,
               {{"prompts", joined}, {"sampling", sampling}, {"model", sampler.model().family()}});
  return preview;
}

namespace {

std::string file_safe(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-') ? c : '_';
  return out;
}

}  // namespace

void export_lora(const TrainRequest& request, const std::vector<models::LoraLayer>& layers,
                 const models::KohyaNames& names, std::map<std::string, std::string> metadata, std::int64_t resolution,
                 std::int64_t steps_done, TrainResult& result) {
  metadata.emplace("ss_base_model", request.model.filename().string());
  metadata.emplace("ss_training_comment", "Pawtrait DreamBooth LoRA: " + request.instance_prompt());
  metadata.emplace("ss_steps", std::to_string(steps_done));
  metadata.emplace("ss_resolution", std::to_string(resolution));
  result.lora_kohya = request.run_dir / "lora" / (file_safe(request.token + "_" + request.class_name) + ".safetensors");
  result.lora_peft = request.run_dir / "lora" / "pytorch_lora_weights.safetensors";
  fs::create_directories(result.lora_kohya.parent_path());
  models::save_lora_kohya(result.lora_kohya, layers, metadata, names);
  models::save_lora_peft(result.lora_peft, layers, metadata);
}

LoopSettings loop_settings(const TrainRequest& request, c10::ScalarType precision) {
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
  return settings;
}

std::string nan_advice(const TrainRequest& request, c10::ScalarType precision) {
  return "Try a lower learning rate (this run: " + std::to_string(request.effective_learning_rate()) + ")" +
         (precision == at::kHalf ? ", or bf16 instead of fp16 (--mixed-precision bf16 or no)" : "") + ".";
}

}  // namespace pawtrait::training
