#include "families/builtin/pixel_trainer.h"

#include "families/builtin/pixel_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/json_file.h"
#include "imaging/photo.h"
#include "imaging/png_text.h"
#include "models/config_fields.h"
#include "models/weight_init.h"
#include "schedulers/noise_process.h"
#include "schedulers/sampler_registry.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "tensors/state_dict_loader.h"
#include "training/photo_dataset.h"
#include "training/train_checkpoint.h"
#include "training/train_report.h"
#include "training/training_loop.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

void save_weights(models::PixelUNet& unet, const PixelTrainRequest& request, std::int64_t step,
                  const fs::path& target) {
  tensors::NamedTensors weights;
  for (const auto& item : unet->named_parameters()) weights.emplace_back(item.key(), item.value().detach());
  tensors::write_safetensors(
      target, weights, {{"pawtrait.model", request.model.to_json().dump()}, {"pawtrait.step", std::to_string(step)}});
}

}  // namespace

nlohmann::json PixelTrainRequest::to_json() const {
  std::vector<std::string> photo_list;
  for (const auto& p : photos) photo_list.push_back(p.string());
  return {{"kind", "builtin"},
          {"photos", photo_list},
          {"run_dir", run_dir.string()},
          {"model", model.to_json()},
          {"steps", steps},
          {"batch_size", batch_size},
          {"learning_rate", learning_rate},
          {"warmup_steps", warmup_steps},
          {"max_grad_norm", max_grad_norm},
          {"seed", seed},
          {"preview_every", preview_every},
          {"preview_count", preview_count},
          {"preview_steps", preview_steps},
          {"checkpoint_every", checkpoint_every},
          {"validate_every", validate_every},
          {"ema_decay", ema_decay}};
}

PixelTrainRequest PixelTrainRequest::from_json(const nlohmann::json& json, const std::string& source) {
  const models::ConfigFields f(json, source);
  PixelTrainRequest r;
  for (const auto& p : f.texts("photos", {})) r.photos.emplace_back(p);
  r.run_dir = f.text("run_dir", "");
  if (json.contains("model")) r.model = models::PixelUNetConfig::from_json(json["model"], source + " model");
  r.steps = f.integer("steps", r.steps);
  r.batch_size = f.integer("batch_size", r.batch_size);
  r.learning_rate = f.number("learning_rate", r.learning_rate);
  r.warmup_steps = f.integer("warmup_steps", r.warmup_steps);
  r.max_grad_norm = f.number("max_grad_norm", r.max_grad_norm);
  r.seed = static_cast<std::uint64_t>(f.integer("seed", 0));
  r.preview_every = f.integer("preview_every", r.preview_every);
  r.preview_count = f.integer("preview_count", r.preview_count);
  r.preview_steps = f.integer("preview_steps", r.preview_steps);
  r.checkpoint_every = f.integer("checkpoint_every", r.checkpoint_every);
  r.validate_every = f.integer("validate_every", r.validate_every);
  r.ema_decay = f.number("ema_decay", r.ema_decay);
  return r;
}

namespace {

// The built-in model's part of the loop: random crops and flips of the photos in pixel
// space, the simplified loss (Ho et al. 2020, Eq. 14) on DDPM's linear schedule.
class PixelTask : public TrainingTask {
 public:
  PixelTask(const PixelTrainRequest& request, at::Tensor images, std::int64_t margin)
      : request_(request), images_(std::move(images)), margin_(margin), unet_(nullptr) {
    // The initial weights come from the run's own seed, not the process's generator.
    {
      models::SeededWeightInit seeded(request.seed);
      unet_ = models::PixelUNet(request.model);
    }
    // A fixed validation batch: the first photos' centre crops at fixed timesteps and noise.
    const std::int64_t r = request.model.resolution;
    const std::int64_t n_val = std::min<std::int64_t>(images_.size(0), 4);
    const at::Tensor val_x0 = images_.slice(0, 0, n_val)
                                  .slice(2, margin / 2, margin / 2 + r)
                                  .slice(3, margin / 2, margin / 2 + r)
                                  .repeat({5, 1, 1, 1});
    val_t_ = noise_process_.validation_timesteps().repeat_interleave(n_val);
    const at::Tensor val_noise = at::randn(val_x0.sizes(), at::make_generator<at::CPUGeneratorImpl>(1234));
    val_xt_ = noise_process_.add_noise(val_x0, val_noise, val_t_);
    val_target_ = noise_process_.training_target(val_x0, val_noise, val_t_);
  }

  NamedParameters trainable() override {
    NamedParameters trained;
    for (const auto& item : unet_->named_parameters()) trained.emplace_back(item.key(), item.value());
    return trained;
  }

  at::Tensor loss(at::Generator& gen) override {
    // A batch: random photo, random crop, random flip; uniform t; fresh ε.
    const std::int64_t r = request_.model.resolution;
    std::vector<at::Tensor> batch;
    for (std::int64_t b = 0; b < request_.batch_size; ++b) {
      const auto i = at::randint(images_.size(0), {1}, gen, at::kLong).item<std::int64_t>();
      const auto oy = at::randint(margin_ + 1, {1}, gen, at::kLong).item<std::int64_t>();
      const auto ox = at::randint(margin_ + 1, {1}, gen, at::kLong).item<std::int64_t>();
      at::Tensor crop = images_[i].slice(1, oy, oy + r).slice(2, ox, ox + r);
      if (at::rand({1}, gen).item<double>() < 0.5) crop = crop.flip({2});
      batch.push_back(crop);
    }
    const at::Tensor x0 = at::stack(batch);
    const at::Tensor t = noise_process_.sample_timesteps(request_.batch_size, gen);
    const at::Tensor noise = at::randn(x0.sizes(), gen);
    const at::Tensor xt = noise_process_.add_noise(x0, noise, t);
    return (unet_->forward(xt, t) - noise_process_.training_target(x0, noise, t)).pow(2).mean();
  }

  double validation_loss() override {
    at::NoGradGuard no_grad;
    return (unet_->forward(val_xt_, val_t_) - val_target_).pow(2).mean().item<double>();
  }

  std::optional<TrainPreview> preview(std::int64_t step, const std::atomic<bool>*) override {
    const std::int64_t r = request_.model.resolution;
    PixelModel model{request_.model, unet_};
    const auto rgb = sample_pixel_model(model, "ddpm", request_.preview_steps, /*seed=*/0, request_.preview_count);
    TrainPreview preview;
    preview.step = step;
    for (std::size_t k = 0; k < rgb.size(); ++k) preview.images.push_back({k, r, r, rgb[k]});
    save_preview(request_.run_dir, preview);
    return preview;
  }

  // The model file follows every checkpoint, so a run that fails later keeps a good model.
  void on_checkpoint(std::int64_t step) override {
    save_weights(unet_, request_, step, request_.run_dir / "model.safetensors");
  }
  void export_result(std::int64_t) override {}  // the last checkpoint wrote the model file

  void set_training(bool training) override { unet_->train(training); }
  std::string nan_advice() const override { return "Try a lower learning rate."; }

 private:
  const PixelTrainRequest& request_;
  at::Tensor images_;
  std::int64_t margin_;
  models::PixelUNet unet_;
  const schedulers::DiscreteNoiseProcess noise_process_{schedulers::SchedulerConfig{}};
  at::Tensor val_t_, val_xt_, val_target_;
};

}  // namespace

PixelTrainResult train_pixel_model(const PixelTrainRequest& request, const TrainCallbacks& callbacks) {
  if (request.steps < 1) throw Error("steps must be at least 1");
  if (request.batch_size < 1) throw Error("the batch size must be at least 1");
  if (request.run_dir.empty()) throw Error("no run folder given");
  PixelTrainResult result;

  // 1. Photos: check them all, go on with the usable ones, say why the others are skipped.
  const PhotoSelection photos = select_photos(request.photos, request.model.resolution, callbacks.log);
  result.skipped_photos = photos.skipped;
  const std::vector<fs::path>& usable = photos.usable;
  log_to(callbacks.log, LogLevel::Info,
         "training the built-in model on " + std::to_string(usable.size()) + " photo(s)");

  const std::int64_t r = request.model.resolution;
  const std::int64_t margin = std::max<std::int64_t>(r / 16, 1);  // crops shift by up to ~6%
  const at::Tensor images = photos_to_tensor(usable, r + margin);

  fs::create_directories(request.run_dir / "previews");
  remove_abandoned_temporaries(request.run_dir);  // a killed run's half-written files
  if (!request.resume) {
    if (latest_checkpoint(request.run_dir)) {
      throw Error(request.run_dir.string() +
                  " already holds a training run; resume it with --resume, or choose a new --out folder");
    }
    write_file_atomically(request.run_dir / "config.json", request.to_json().dump(2) + "\n");
  }

  // 2. The task and the loop: AdamW after a linear warm-up, clipping, the average the model
  //    file holds (validated and previewed too), everything random from the run's seed.
  PixelTask task(request, images, margin);
  LoopSettings settings;
  settings.run_dir = request.run_dir;
  settings.resume = request.resume;
  settings.seed = request.seed;
  settings.steps = request.steps;
  settings.learning_rate = request.learning_rate;
  settings.warmup_steps = request.warmup_steps;
  settings.max_grad_norm = request.max_grad_norm;
  settings.ema_decay = request.ema_decay;
  settings.validate_averaged = true;
  settings.validate_every = request.validate_every;
  settings.checkpoint_every = request.checkpoint_every;
  settings.preview_every = request.preview_every;
  TrainingLoop loop(task, settings, callbacks);
  const LoopResult done = loop.run();
  result.steps_done = done.steps_done;
  result.final_smoothed_loss = done.final_smoothed_loss;
  result.weights = request.run_dir / "model.safetensors";
  return result;
}

PixelTrainRequest read_pixel_run_request(const fs::path& run_dir) {
  const fs::path file = run_dir / "config.json";
  if (const std::string kind = run_kind(run_dir); kind != "builtin") {
    throw Error(file.string() + " is not a built-in model run (kind \"" + kind + "\")");
  }
  PixelTrainRequest request = PixelTrainRequest::from_json(read_json_file(file), file.string());
  request.run_dir = run_dir;
  request.resume = true;
  return request;
}

}  // namespace pawtrait::training
