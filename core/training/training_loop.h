#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "training/train_checkpoint.h"
#include "training/train_events.h"

namespace torch::optim {
class AdamW;
}

namespace pawtrait::training {

class DynamicLossScaler;

// What one model family (or the built-in model) brings to training: the batch and its loss,
// what is trained, how the model is judged and shown, and what is made at the end. The loop
// owns everything else (DESIGN.md, "TrainingLoop").
class TrainingTask {
 public:
  virtual ~TrainingTask() = default;

  // The parameters the optimizer steps, by name (the checkpoint's names), in float32.
  virtual NamedParameters trainable() = 0;
  // One micro-batch's loss, a float32 scalar with its graph; every random draw from `gen`
  // (the run's one generator, saved in checkpoints, so a resumed run draws what an
  // uninterrupted one would).
  virtual at::Tensor loss(at::Generator& gen) = 0;
  // The loss on a fixed batch (fixed photos, timesteps and noise), so that it moves with the
  // model alone; under no_grad.
  virtual double validation_loss() = 0;
  // Sample pictures; nothing when stopped half way (the cancel flag). One that throws is
  // skipped by the loop with a warning: a broken preview does not end the run.
  virtual std::optional<TrainPreview> preview(std::int64_t step, const std::atomic<bool>* cancel) = 0;
  // Called at each checkpoint with the weights the run makes (the average when there is one).
  virtual void on_checkpoint(std::int64_t /*step*/) {}
  // Writes what the run makes, with the weights the run makes.
  virtual void export_result(std::int64_t steps_done) = 0;
  // train() or eval() for the modules being trained.
  virtual void set_training(bool training) = 0;
  // The end of the message when the loss stops being finite ("Try a lower learning rate").
  virtual std::string nan_advice() const = 0;
};

struct LoopSettings {
  std::filesystem::path run_dir;
  bool resume = false;
  std::uint64_t seed = 0;
  std::int64_t steps = 0;
  double learning_rate = 0;
  std::string lr_schedule = "constant";
  std::int64_t warmup_steps = 0;
  std::int64_t grad_accum = 1;
  double max_grad_norm = 0;  // 0: no clipping
  double weight_decay = 0;
  std::optional<double> ema_decay;  // an exponential moving average of the weights, or none
  bool validate_averaged = false;   // the validation loss of the average (else of the live weights)
  bool fp16_loss_scaling = false;   // float16 gradients: a dynamic loss scale
  std::int64_t validate_every = 0;  // 0: never
  std::int64_t checkpoint_every = 0;
  std::int64_t preview_every = 0;
};

struct LoopResult {
  std::int64_t steps_done = 0;
  double final_smoothed_loss = 0;
  bool stopped = false;
  std::filesystem::path checkpoint;  // the newest one
};

// One optimizer step's outcome.
struct StepOutcome {
  double loss = 0;  // the mean over the micro-batches
  double lr = 0;
  double grad_norm = 0;  // the total gradient norm before clipping (0 when not clipping)
  bool applied = true;   // false: float16 gradients overflowed and the step was skipped
};

// The one training loop for every family: AdamW with warm-up and the schedule, gradient
// accumulation and clipping, the float16 loss scale, the EMA, the NaN stop, pause and
// cancel, progress and loss.csv, validation, previews, checkpoints and exact resume, and the
// export under the averaged weights.
class TrainingLoop {
 public:
  TrainingLoop(TrainingTask& task, LoopSettings settings, TrainCallbacks callbacks = {});
  ~TrainingLoop();
  TrainingLoop(const TrainingLoop&) = delete;
  TrainingLoop& operator=(const TrainingLoop&) = delete;

  // Optimizer step number `step` (1-based). Throws pawtrait::Error for a loss that is not finite.
  StepOutcome step(std::int64_t step);
  // From the start, or from the newest checkpoint with `resume`, to settings.steps; then the
  // last checkpoint and the export. A cancel stops between steps and still saves and exports.
  // A step that throws (out of memory, say) loses only itself: the steps before it are saved
  // as a checkpoint that --resume continues exactly, then pawtrait::Error says so. A failed
  // validation or preview is skipped with a warning and training goes on.
  LoopResult run();

  at::Generator& generator() { return gen_; }

 private:
  void save_checkpoint();
  Error failed_step(std::int64_t step, const std::exception& e, const at::Tensor& generator_before);
  template <typename Body>
  void with_averaged_weights(Body body);

  TrainingTask& task_;
  LoopSettings settings_;
  TrainCallbacks callbacks_;
  NamedParameters trained_;
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> ema_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<DynamicLossScaler> scaler_;
  at::Generator gen_;
  TrainState state_;
  LoopResult result_;
  std::int64_t saved_step_ = 0;   // the step of the newest checkpoint this run has (0: none needed)
  bool loss_not_finite_ = false;  // the last step failed on a NaN/inf loss: its weights are suspect
};

}  // namespace pawtrait::training
