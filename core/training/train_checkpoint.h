#pragma once

#include <ATen/core/Tensor.h>
#include <torch/optim/adamw.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pawtrait::training {

using NamedParameters = std::vector<std::pair<std::string, at::Tensor>>;

// What, besides the weights and the optimizer, a run needs to continue exactly.
struct TrainState {
  std::int64_t step = 0;  // optimizer steps done
  double smoothed_loss_sum = 0, smoothing_weight = 0;
  double loss_scale = 0;  // 0 when no loss scaler is used
  std::int64_t scaler_good_steps = 0;
  at::Tensor rng_state;  // the training generator's state (uint8)
};

// Writes run_dir/checkpoints/step-NNNNNN.safetensors in one atomic write: the trained
// parameters by name, their AdamW moments and step counts, the EMA weights (when given) and
// the state; then removes all but the newest `keep` checkpoints. Returns the file.
std::filesystem::path save_train_checkpoint(const std::filesystem::path& run_dir, const NamedParameters& params,
                                            torch::optim::AdamW& optimizer, const std::vector<at::Tensor>& ema,
                                            const TrainState& state, int keep = 2);

// The newest checkpoint of the run, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// Puts a checkpoint back: the parameters (copied in place), the optimizer's state and the EMA
// weights. Throws pawtrait::Error when it does not fit these parameters (another run's file).
TrainState load_train_checkpoint(const std::filesystem::path& file, const NamedParameters& params,
                                 torch::optim::AdamW& optimizer, const std::vector<at::Tensor>& ema);

// A resumed run's loss.csv keeps its header and the rows up to `step`; later rows (from after
// the checkpoint) are dropped, to be written again.
void rewind_loss_csv(const std::filesystem::path& file, std::int64_t step);

// The "kind" of the run in run_dir ("dreambooth" or "builtin"), from its config.json. Throws
// pawtrait::Error when the folder holds no run.
std::string run_kind(const std::filesystem::path& run_dir);

}  // namespace pawtrait::training
