#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "families/builtin/pixel_unet_config.h"
#include "training/train_events.h"

namespace pawtrait::training {

// Training the built-in pixel DDPM from scratch on the pet's photos (DESIGN.md §4): linear
// betas 1e-4 → 0.02, T = 1000, ε-prediction, the simplified loss ‖ε − ε_θ(x_t, t)‖² at one
// uniform t per example, AdamW, random flips and small random crops.
struct PixelTrainRequest {
  std::vector<std::filesystem::path> photos;  // files or folders
  std::filesystem::path run_dir;
  models::PixelUNetConfig model;
  // Defaults sized for the demo: one photo, 2 CPU cores, under ten minutes.
  std::int64_t steps = 1000;
  std::int64_t batch_size = 8;
  double learning_rate = 1e-3;
  std::int64_t warmup_steps = 100;
  double max_grad_norm = 1.0;
  std::uint64_t seed = 0;
  std::int64_t preview_every = 250;  // 0 = never
  std::int64_t preview_count = 4;
  std::int64_t preview_steps = 50;  // DDIM steps for previews
  std::int64_t checkpoint_every = 250;
  std::int64_t validate_every = 100;
  // Previews and the saved model use an exponential moving average of the weights (as DDPM
  // does): it smooths out the step-to-step jitter that otherwise shows as noise in samples.
  double ema_decay = 0.995;
  // Continue the run in run_dir from its newest checkpoint (not saved in config.json).
  bool resume = false;

  nlohmann::json to_json() const;
  static PixelTrainRequest from_json(const nlohmann::json& json, const std::string& source);
};

struct PixelTrainResult {
  std::filesystem::path weights;  // run_dir/model.safetensors
  std::int64_t steps_done = 0;
  double final_smoothed_loss = 0;
  std::vector<std::string> skipped_photos;  // "<file>: <reason>"
};

// Trains, writing into run_dir: config.json (the request), model.safetensors (the averaged
// weights, written atomically at each checkpoint and at the end or on cancel), checkpoints/
// (what resuming needs), previews/step-NNNNNN.png, loss.csv. With `resume`, continues the run
// from its newest checkpoint up to request.steps; the result equals an uninterrupted run.
// Throws pawtrait::Error when no photo is usable.
PixelTrainResult train_pixel_model(const PixelTrainRequest& request, const TrainCallbacks& callbacks = {});

// The request a built-in run folder was made with (its config.json), for --resume.
PixelTrainRequest read_pixel_run_request(const std::filesystem::path& run_dir);

}  // namespace pawtrait::training
