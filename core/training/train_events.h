#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/log.h"

namespace pawtrait::training {

struct TrainProgress {
  std::int64_t step = 0;  // 1-based, steps done
  std::int64_t steps = 0;
  double loss = 0;
  double smoothed_loss = 0;     // exponential moving average, 0.98
  double validation_loss = -1;  // at fixed timesteps and noise; -1 when not computed this step
  double lr = 0;
  double it_per_s = 0;
  double eta_seconds = 0;
};

struct PreviewImage {
  std::uint64_t seed = 0;
  std::int64_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // 8-bit RGB, row-major
};

struct TrainPreview {
  std::int64_t step = 0;
  std::vector<PreviewImage> images;
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_progress;
  std::function<void(const TrainPreview&)> on_preview;
  LogSink log;
  const std::atomic<bool>* cancel = nullptr;  // checked between steps; a checkpoint is saved
  const std::atomic<bool>* pause = nullptr;   // while set, training waits between steps
};

}  // namespace pawtrait::training
