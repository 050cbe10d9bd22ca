#include "training/pixel_trainer.h"

#include "training/pixel_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/json_file.h"
#include "imaging/photo.h"
#include "imaging/png_text.h"
#include "models/config_fields.h"
#include "schedulers/noise_process.h"
#include "schedulers/sampler_registry.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "tensors/state_dict_loader.h"
#include "training/lr_schedule.h"
#include "training/photo_dataset.h"
#include "training/train_checkpoint.h"
#include "training/train_report.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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
  if (!request.resume) {
    if (latest_checkpoint(request.run_dir)) {
      throw Error(request.run_dir.string() +
                  " already holds a training run; resume it with --resume, or choose a new --out folder");
    }
    write_file_atomically(request.run_dir / "config.json", request.to_json().dump(2) + "\n");
  }

  // 2. Model, schedule, optimizer; everything random comes from one seeded generator.
  at::manual_seed(request.seed);
  models::PixelUNet unet(request.model);
  unet->train();
  const schedulers::DiscreteNoiseProcess noise_process{schedulers::SchedulerConfig{}};
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  torch::optim::AdamW optimizer(
      unet->parameters(), torch::optim::AdamWOptions(request.learning_rate).betas({0.9, 0.999}).weight_decay(0.0));

  // A fixed validation batch: the first photos' centre crops at fixed timesteps and noise.
  const std::int64_t n_val = std::min<std::int64_t>(images.size(0), 4);
  const at::Tensor val_x0 = images.slice(0, 0, n_val)
                                .slice(2, margin / 2, margin / 2 + r)
                                .slice(3, margin / 2, margin / 2 + r)
                                .repeat({5, 1, 1, 1});
  const at::Tensor val_t = noise_process.validation_timesteps().repeat_interleave(n_val);
  const at::Tensor val_noise = at::randn(val_x0.sizes(), at::make_generator<at::CPUGeneratorImpl>(1234));
  const at::Tensor val_xt = noise_process.add_noise(val_x0, val_noise, val_t);
  const at::Tensor val_target = noise_process.training_target(val_x0, val_noise, val_t);

  // The averaged weights, in a second model of the same shape.
  models::PixelUNet ema(request.model);
  ema->eval();
  {
    at::NoGradGuard no_grad;
    auto target = ema->parameters();
    auto source = unet->parameters();
    for (std::size_t i = 0; i < target.size(); ++i) target[i].copy_(source[i]);
  }
  auto update_ema = [&](std::int64_t step) {
    at::NoGradGuard no_grad;
    // Warm-up: early on the average follows the weights closely (Tan et al.'s schedule).
    const double decay = std::min(request.ema_decay, (1.0 + step) / (10.0 + step));
    auto target = ema->parameters();
    auto source = unet->parameters();
    for (std::size_t i = 0; i < target.size(); ++i) target[i].mul_(decay).add_(source[i], 1.0 - decay);
  };

  // Resuming: weights, optimizer, averages, generator and loss statistics from the checkpoint.
  NamedParameters trained;
  for (const auto& item : unet->named_parameters()) trained.emplace_back(item.key(), item.value());
  const std::vector<at::Tensor> averaged = ema->parameters();
  TrainState state;
  if (request.resume) {
    const auto file = latest_checkpoint(request.run_dir);
    if (!file) throw Error(request.run_dir.string() + " has no checkpoint to resume from; start it again");
    state = load_train_checkpoint(*file, trained, optimizer, averaged);
    gen.set_state(state.rng_state);
    rewind_loss_csv(request.run_dir / "loss.csv", state.step);
    log_to(callbacks.log, LogLevel::Info, "resuming from step " + std::to_string(state.step));
  }
  std::ofstream loss_csv(request.run_dir / "loss.csv", std::ios::app);
  if (!request.resume) loss_csv << "step,loss,smoothed_loss,validation_loss,lr\n";
  result.steps_done = state.step;

  const auto start = Clock::now();
  const std::int64_t first_step = state.step;
  auto checkpoint = [&](std::int64_t step) {
    save_weights(ema, request, step, request.run_dir / "model.safetensors");
    state.step = step;
    state.rng_state = gen.get_state();
    save_train_checkpoint(request.run_dir, trained, optimizer, averaged, state);
  };
  for (std::int64_t step = state.step + 1; step <= request.steps; ++step) {
    while (callbacks.pause != nullptr && callbacks.pause->load() &&
           !(callbacks.cancel != nullptr && callbacks.cancel->load())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (callbacks.cancel != nullptr && callbacks.cancel->load()) {
      log_to(callbacks.log, LogLevel::Info, "stopped at step " + std::to_string(step - 1) + "; the model is saved");
      break;
    }
    // 3. A batch: random photo, random crop, random flip; uniform t; fresh ε.
    std::vector<at::Tensor> batch;
    for (std::int64_t b = 0; b < request.batch_size; ++b) {
      const auto i = at::randint(images.size(0), {1}, gen, at::kLong).item<std::int64_t>();
      const auto oy = at::randint(margin + 1, {1}, gen, at::kLong).item<std::int64_t>();
      const auto ox = at::randint(margin + 1, {1}, gen, at::kLong).item<std::int64_t>();
      at::Tensor crop = images[i].slice(1, oy, oy + r).slice(2, ox, ox + r);
      if (at::rand({1}, gen).item<double>() < 0.5) crop = crop.flip({2});
      batch.push_back(crop);
    }
    const at::Tensor x0 = at::stack(batch);
    const at::Tensor t = noise_process.sample_timesteps(request.batch_size, gen);
    const at::Tensor noise = at::randn(x0.sizes(), gen);
    const at::Tensor xt = noise_process.add_noise(x0, noise, t);

    // 4. The simplified loss (Ho et al. Eq. 14) and one AdamW step after linear warm-up, the
    //    one warm-up every trainer uses (diffusers' convention).
    const double lr = learning_rate_at(step, request.learning_rate, "constant", request.warmup_steps, request.steps);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad(true);
    const at::Tensor loss = (unet->forward(xt, t) - noise_process.training_target(x0, noise, t)).pow(2).mean();
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error("the loss became " + std::to_string(loss_value) + " at step " + std::to_string(step) +
                  "; the last good model is kept in " + (request.run_dir / "model.safetensors").string() +
                  ". Try a lower learning rate");
    }
    loss.backward();
    torch::nn::utils::clip_grad_norm_(unet->parameters(), request.max_grad_norm);
    optimizer.step();
    update_ema(step);

    // 5. Progress, validation, previews, checkpoints.
    TrainProgress p = record_step(state, step, request.steps, loss_value, lr, first_step,
                                  std::chrono::duration<double>(Clock::now() - start).count());
    if (request.validate_every > 0 && (step % request.validate_every == 0 || step == request.steps)) {
      at::NoGradGuard no_grad;
      p.validation_loss = (ema->forward(val_xt, val_t) - val_target).pow(2).mean().item<double>();
    }
    loss_csv << loss_csv_row(p);
    if (callbacks.on_progress) callbacks.on_progress(p);
    result.steps_done = step;
    result.final_smoothed_loss = p.smoothed_loss;
    if (request.checkpoint_every > 0 && step % request.checkpoint_every == 0) checkpoint(step);
    if (request.preview_every > 0 && (step % request.preview_every == 0 || step == request.steps)) {
      PixelModel model{request.model, ema};
      const auto rgb = sample_pixel_model(model, "ddpm", request.preview_steps, /*seed=*/0, request.preview_count);
      TrainPreview preview;
      preview.step = step;
      for (std::size_t k = 0; k < rgb.size(); ++k) preview.images.push_back({k, r, r, rgb[k]});
      save_preview(request.run_dir, preview);
      if (callbacks.on_preview) callbacks.on_preview(preview);
    }
  }
  checkpoint(result.steps_done);
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
