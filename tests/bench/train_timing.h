#pragma once

// Runs the real DreamBooth trainer and times each optimizer step from the progress reports
// (the first step's clock starts when the loop does, after photos and prompts are encoded).
#include <chrono>
#include <string>
#include <vector>

#include "training/dreambooth.h"

struct TrainTiming {
  std::vector<double> step_seconds;
  double total_seconds = 0;
};

inline TrainTiming time_training(const pawtrait::training::TrainRequest& request) {
  using Clock = std::chrono::steady_clock;
  TrainTiming timing;
  auto last = Clock::now();
  pawtrait::training::TrainCallbacks callbacks;
  callbacks.on_progress = [&](const pawtrait::training::TrainProgress&) {
    const auto now = Clock::now();
    timing.step_seconds.push_back(std::chrono::duration<double>(now - last).count());
    last = now;
  };
  callbacks.log = [&](pawtrait::LogLevel, const std::string& line) {
    if (line.rfind("training ", 0) == 0) last = Clock::now();  // the loop starts after this line
  };
  const auto start = Clock::now();
  pawtrait::training::train_dreambooth(request, callbacks);
  timing.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return timing;
}
