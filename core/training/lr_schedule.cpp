#include "training/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pawtrait::training {

double learning_rate_at(std::int64_t step, double base_lr, const std::string& schedule, std::int64_t warmup_steps,
                        std::int64_t total_steps) {
  // diffusers' LambdaLR sees the count of steps already taken; step k (1-based) uses k - 1.
  const auto taken = static_cast<double>(step - 1);
  if (taken < static_cast<double>(warmup_steps)) return base_lr * taken / static_cast<double>(warmup_steps);
  if (schedule != "cosine") return base_lr;
  const double progress = (taken - static_cast<double>(warmup_steps)) /
                          std::max<double>(1.0, static_cast<double>(total_steps - warmup_steps));
  return base_lr * std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
}

}  // namespace pawtrait::training
