#include "training/training_loop.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "training/loss_scaler.h"
#include "training/lr_schedule.h"
#include "training/train_report.h"

namespace pawtrait::training {
namespace {

using Clock = std::chrono::steady_clock;

bool raised(const std::atomic<bool>* flag) { return flag != nullptr && flag->load(); }

// LibTorch's messages carry a C++ backtrace after the first line.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

TrainingLoop::TrainingLoop(TrainingTask& task, LoopSettings settings, TrainCallbacks callbacks)
    : task_(task),
      settings_(std::move(settings)),
      callbacks_(std::move(callbacks)),
      trained_(task.trainable()),
      scaler_(std::make_unique<DynamicLossScaler>()),
      gen_(at::make_generator<at::CPUGeneratorImpl>(settings_.seed)) {
  if (settings_.steps < 1) throw Error("steps must be at least 1");
  if (settings_.grad_accum < 1) throw Error("gradient accumulation must be at least 1");
  if (trained_.empty()) throw Error("nothing to train: the model has no trainable parameters");
  for (const auto& [name, p] : trained_) params_.push_back(p);
  optimizer_ = std::make_unique<torch::optim::AdamW>(params_, torch::optim::AdamWOptions(settings_.learning_rate)
                                                                  .betas({0.9, 0.999})
                                                                  .eps(1e-8)
                                                                  .weight_decay(settings_.weight_decay));
  if (settings_.ema_decay) {
    for (const auto& p : params_) ema_.push_back(p.detach().clone());
  }
}

TrainingLoop::~TrainingLoop() = default;

// Previews, checkpoint exports and the result use the averaged weights when there are any:
// swapped in, then back (also when the body throws).
template <typename Body>
void TrainingLoop::with_averaged_weights(Body body) {
  if (ema_.empty()) return body();
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> live;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    live.push_back(params_[i].detach().clone());
    params_[i].copy_(ema_[i]);
  }
  try {
    body();
  } catch (...) {
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i].copy_(live[i]);
    throw;
  }
  for (std::size_t i = 0; i < params_.size(); ++i) params_[i].copy_(live[i]);
}

StepOutcome TrainingLoop::step(std::int64_t step) {
  StepOutcome out;
  out.lr =
      learning_rate_at(step, settings_.learning_rate, settings_.lr_schedule, settings_.warmup_steps, settings_.steps);
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(out.lr);
  }
  optimizer_->zero_grad(/*set_to_none=*/true);
  const auto accum = static_cast<double>(settings_.grad_accum);
  for (std::int64_t micro = 0; micro < settings_.grad_accum; ++micro) {
    at::Tensor loss = task_.loss(gen_);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      loss_not_finite_ = true;
      const auto last = latest_checkpoint(settings_.run_dir);
      throw Error("the loss became " + std::to_string(value) + " at step " + std::to_string(step) + ". " +
                  (last ? "The last good checkpoint is kept: " + last->string() + " (resume from it with --resume). "
                        : std::string("No checkpoint was written yet. ")) +
                  task_.nan_advice());
    }
    out.loss += value / accum;
    if (settings_.grad_accum > 1) loss = loss / accum;
    (settings_.fp16_loss_scaling ? scaler_->scale(loss) : loss).backward();
  }
  const bool finite = !settings_.fp16_loss_scaling || scaler_->unscale(params_);
  if (finite) {
    if (settings_.max_grad_norm > 0) {
      out.grad_norm = torch::nn::utils::clip_grad_norm_(params_, settings_.max_grad_norm);
    }
    optimizer_->step();
    if (!ema_.empty()) {
      at::NoGradGuard no_grad;
      // Warm-up as in diffusers' EMAModel: early on the average follows the weights closely.
      const double decay = std::min(*settings_.ema_decay, (1.0 + step) / (10.0 + step));
      for (std::size_t i = 0; i < params_.size(); ++i) ema_[i].mul_(decay).add_(params_[i].detach(), 1.0 - decay);
    }
  } else {
    log_to(callbacks_.log, LogLevel::Info,
           "float16 gradients overflowed at step " + std::to_string(step) + "; step skipped, loss scale lowered");
  }
  if (settings_.fp16_loss_scaling) scaler_->update(finite);
  out.applied = finite;
  return out;
}

void TrainingLoop::save_checkpoint() {
  with_averaged_weights([&] { task_.on_checkpoint(state_.step); });
  state_.rng_state = gen_.get_state();
  state_.loss_scale = settings_.fp16_loss_scaling ? scaler_->current_scale() : 0.0;
  state_.scaler_good_steps = settings_.fp16_loss_scaling ? scaler_->good_steps() : 0;
  result_.checkpoint = save_train_checkpoint(settings_.run_dir, trained_, *optimizer_, ema_, state_);
  saved_step_ = state_.step;
}

Error TrainingLoop::failed_step(std::int64_t step, const std::exception& e, const at::Tensor& generator_before) {
  // A non-finite loss already says which checkpoint is the last good one: the weights it
  // came from are not saved over it.
  if (loss_not_finite_) return Error(e.what());
  std::string saved;
  if (state_.step > saved_step_) {
    gen_.set_state(generator_before);  // --resume draws this step's noise again
    try {
      save_checkpoint();
      saved = "Steps 1 to " + std::to_string(state_.step) + " are saved (" + result_.checkpoint.string() +
              "): continue with --resume. ";
    } catch (const std::exception& again) {
      saved = "Saving the steps before it failed too (" + std::string(again.what()) + "). ";
    }
  } else if (saved_step_ > 0) {
    saved = "The run is saved up to step " + std::to_string(saved_step_) + ": continue with --resume. ";
  }
  const bool memory = dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr;
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  const std::string what = first_line(torch_error != nullptr ? torch_error->what_without_backtrace() : e.what());
  return Error(
      "training failed at step " + std::to_string(step) + ": " + what + ". " + saved +
      (memory ? "It ran out of memory: turn on --gradient-checkpointing, or lower --resolution or --batch-size." : ""));
}

LoopResult TrainingLoop::run() {
  const LogSink& log = callbacks_.log;
  if (settings_.resume) {
    const auto file = latest_checkpoint(settings_.run_dir);
    if (!file) {
      throw Error(settings_.run_dir.string() + " has no checkpoint to resume from; start it again without --resume");
    }
    state_ = load_train_checkpoint(*file, trained_, *optimizer_, ema_);
    saved_step_ = state_.step;
    gen_.set_state(state_.rng_state);
    if (settings_.fp16_loss_scaling && state_.loss_scale > 0) {
      scaler_->restore(state_.loss_scale, state_.scaler_good_steps);
    }
    result_.checkpoint = *file;
    log_to(log, LogLevel::Info, "resuming from step " + std::to_string(state_.step) + " (" + file->string() + ")");
    rewind_loss_csv(settings_.run_dir / "loss.csv", state_.step);
  }
  result_.steps_done = state_.step;
  // A fresh start begins the file again: rows of an attempt killed before its first
  // checkpoint would otherwise stay in front of this run's.
  std::ofstream loss_csv(settings_.run_dir / "loss.csv", settings_.resume ? std::ios::app : std::ios::trunc);
  if (!settings_.resume) loss_csv << "step,loss,smoothed_loss,validation_loss,lr\n";

  task_.set_training(true);
  const auto start = Clock::now();
  const std::int64_t first_step = state_.step;
  for (std::int64_t step = state_.step + 1; step <= settings_.steps; ++step) {
    while (raised(callbacks_.pause) && !raised(callbacks_.cancel)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (raised(callbacks_.cancel)) {
      result_.stopped = true;
      log_to(log, LogLevel::Info, "stopped after step " + std::to_string(step - 1) + "; what it learnt is saved");
      break;
    }
    const at::Tensor generator_before = gen_.get_state();
    StepOutcome outcome;
    try {
      outcome = this->step(step);
    } catch (const std::exception& e) {
      throw failed_step(step, e, generator_before);
    }

    // Progress, validation, previews, checkpoints.
    TrainProgress p = record_step(state_, step, settings_.steps, outcome.loss, outcome.lr, first_step,
                                  std::chrono::duration<double>(Clock::now() - start).count());
    if (settings_.validate_every > 0 && (step % settings_.validate_every == 0 || step == settings_.steps)) {
      try {
        if (settings_.validate_averaged) {
          with_averaged_weights([&] { p.validation_loss = task_.validation_loss(); });
        } else {
          p.validation_loss = task_.validation_loss();
        }
      } catch (const std::exception& e) {  // a validation that fails is skipped, the run goes on
        p.validation_loss = -1;
        log_to(log, LogLevel::Warning,
               "validation at step " + std::to_string(step) + " failed and is skipped: " + first_line(e.what()));
      }
    }
    loss_csv << loss_csv_row(p) << std::flush;
    if (callbacks_.on_progress) callbacks_.on_progress(p);
    result_.steps_done = step;
    result_.final_smoothed_loss = p.smoothed_loss;
    if (settings_.checkpoint_every > 0 && step % settings_.checkpoint_every == 0 && step != settings_.steps) {
      save_checkpoint();
    }
    if (settings_.preview_every > 0 && (step % settings_.preview_every == 0 || step == settings_.steps)) {
      task_.set_training(false);
      std::optional<TrainPreview> preview;
      try {
        with_averaged_weights([&] { preview = task_.preview(step, callbacks_.cancel); });
      } catch (const std::exception& e) {  // a broken preview must not end the run, nor pass silently
        log_to(log, LogLevel::Warning,
               "preview at step " + std::to_string(step) + " failed and is skipped: " + first_line(e.what()));
      }
      task_.set_training(true);
      if (preview && callbacks_.on_preview) callbacks_.on_preview(*preview);
    }
  }
  task_.set_training(false);

  // The end (or a cancel): a checkpoint to resume from, and the result in the formats other
  // tools read.
  if (result_.steps_done > first_step || !settings_.resume) save_checkpoint();
  with_averaged_weights([&] { task_.export_result(result_.steps_done); });
  return result_;
}

}  // namespace pawtrait::training
