#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pawtrait::schedulers {

enum class TimestepSpacing { Leading, Trailing, Linspace };
TimestepSpacing parse_timestep_spacing(const std::string& name);

// The inference timesteps each family of samplers uses for `steps` steps out of
// `train_steps`, in sampling order (descending), exactly as diffusers computes them
// ("Common Diffusion Noise Schedules and Sample Steps Are Flawed", Lin et al. 2023, Table 2,
// names the spacings). Throws pawtrait::Error unless 1 <= steps <= train_steps.

// DDPM and DDIM: integer timesteps.
std::vector<std::int64_t> ddpm_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                         std::int64_t steps_offset);
// Euler and Euler ancestral: float32 timesteps (linspace gives fractional ones).
std::vector<float> euler_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                   std::int64_t steps_offset);
// DPM-Solver: integer timesteps from a grid of steps + 1 points with the last one dropped.
std::vector<std::int64_t> dpm_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                        std::int64_t steps_offset);

void check_step_count(std::int64_t steps, std::int64_t train_steps);

// DDPM and DDIM index ᾱ by timestep, so every one must lie inside the schedule; "leading"
// with a steps_offset can reach one past it. Throws with the largest step count that works.
std::vector<std::int64_t> checked_ddpm_timesteps(TimestepSpacing spacing, std::int64_t train_steps, std::int64_t steps,
                                                 std::int64_t steps_offset);

}  // namespace pawtrait::schedulers
