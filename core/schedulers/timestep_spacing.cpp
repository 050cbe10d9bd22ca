#include "schedulers/timestep_spacing.h"

#include <algorithm>

#include "common/error.h"
#include "schedulers/numpy_compat.h"

namespace pawtrait::schedulers {
namespace {

// The "trailing" grid shared by every family: round(arange(last, 0, -train/steps)) - 1.
std::vector<double> trailing_grid(std::int64_t last, std::int64_t train_steps, std::int64_t steps) {
  const double ratio = static_cast<double>(train_steps) / static_cast<double>(steps);
  std::vector<double> grid = numpy_arange(static_cast<double>(last), 0.0, -ratio);
  for (double& t : grid) t = numpy_round(t) - 1.0;
  return grid;
}

}  // namespace

TimestepSpacing parse_timestep_spacing(const std::string& name) {
  if (name == "leading") return TimestepSpacing::Leading;
  if (name == "trailing") return TimestepSpacing::Trailing;
  if (name == "linspace") return TimestepSpacing::Linspace;
  throw Error("unknown timestep_spacing \"" + name + "\"; use leading, trailing or linspace");
}

void check_step_count(std::int64_t steps, std::int64_t train_steps) {
  if (steps < 1 || steps > train_steps) {
    throw Error("the number of sampling steps must be between 1 and " + std::to_string(train_steps) +
                " (the model's training timesteps); got " + std::to_string(steps));
  }
}

std::vector<std::int64_t> ddpm_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                         std::int64_t steps_offset) {
  check_step_count(steps, train_steps);
  std::vector<std::int64_t> out;
  switch (spacing) {
    case TimestepSpacing::Linspace:
      for (double t : numpy_linspace(0.0, static_cast<double>(train_steps - 1), steps)) {
        out.push_back(static_cast<std::int64_t>(numpy_round(t)));
      }
      std::reverse(out.begin(), out.end());
      break;
    case TimestepSpacing::Leading: {
      const std::int64_t ratio = train_steps / steps;
      for (std::int64_t i = steps - 1; i >= 0; --i) out.push_back(i * ratio + steps_offset);
      break;
    }
    case TimestepSpacing::Trailing:
      for (double t : trailing_grid(train_steps, train_steps, steps)) out.push_back(static_cast<std::int64_t>(t));
      break;
  }
  return out;
}

std::vector<std::int64_t> checked_ddpm_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                                 std::int64_t steps_offset) {
  auto fits = [&](const std::vector<std::int64_t>& t) { return *std::max_element(t.begin(), t.end()) < train_steps; };
  std::vector<std::int64_t> timesteps = ddpm_timesteps(spacing, train_steps, steps, steps_offset);
  if (fits(timesteps)) return timesteps;
  std::int64_t most = steps - 1;
  while (most > 1 && !fits(ddpm_timesteps(spacing, train_steps, most, steps_offset))) --most;
  throw Error(std::to_string(steps) + " steps reach timestep " +
              std::to_string(*std::max_element(timesteps.begin(), timesteps.end())) + ", past the model's " +
              std::to_string(train_steps) + " training timesteps (steps_offset " + std::to_string(steps_offset) +
              "); use at most " + std::to_string(most) + " steps with this sampler");
}

std::vector<float> euler_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                   std::int64_t steps_offset) {
  check_step_count(steps, train_steps);
  std::vector<float> out;
  switch (spacing) {
    case TimestepSpacing::Linspace:
      for (double t : numpy_linspace(0.0, static_cast<double>(train_steps - 1), steps)) {
        out.push_back(static_cast<float>(t));
      }
      std::reverse(out.begin(), out.end());
      break;
    case TimestepSpacing::Leading: {
      const std::int64_t ratio = train_steps / steps;
      for (std::int64_t i = steps - 1; i >= 0; --i) {
        out.push_back(static_cast<float>(i * ratio) + static_cast<float>(steps_offset));
      }
      break;
    }
    case TimestepSpacing::Trailing:
      for (double t : trailing_grid(train_steps, train_steps, steps)) out.push_back(static_cast<float>(t));
      break;
  }
  return out;
}

std::vector<std::int64_t> dpm_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                        std::int64_t steps_offset) {
  check_step_count(steps, train_steps);
  // lambda_min_clipped is -inf in every supported config, so the grid reaches train_steps.
  const std::int64_t last = train_steps;
  std::vector<std::int64_t> out;
  switch (spacing) {
    case TimestepSpacing::Linspace: {
      std::vector<double> grid = numpy_linspace(0.0, static_cast<double>(last - 1), steps + 1);
      for (auto it = grid.rbegin(); it + 1 != grid.rend(); ++it) {
        out.push_back(static_cast<std::int64_t>(numpy_round(*it)));
      }
      break;
    }
    case TimestepSpacing::Leading: {
      const std::int64_t ratio = last / (steps + 1);
      for (std::int64_t i = steps; i >= 1; --i) out.push_back(i * ratio + steps_offset);
      break;
    }
    case TimestepSpacing::Trailing:
      for (double t : trailing_grid(last, train_steps, steps)) out.push_back(static_cast<std::int64_t>(t));
      break;
  }
  return out;
}

}  // namespace pawtrait::schedulers
