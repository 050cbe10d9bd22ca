#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"

namespace pawtrait::schedulers {

// A diffusers scheduler_config.json, as far as Pawtrait's samplers read it. Every field is
// optional: a key absent from the file takes the default of whichever sampler is built
// from it, exactly as diffusers' from_config does when one scheduler is swapped for
// another (a DDIM config turned into Euler keeps its "timestep_spacing", but a PNDM config
// without one gives Euler its own default, "linspace").
struct SchedulerConfig {
  std::optional<std::string> class_name;  // "_class_name", informational
  std::optional<std::int64_t> num_train_timesteps;
  std::optional<double> beta_start;
  std::optional<double> beta_end;
  std::optional<std::string> beta_schedule;  // linear | scaled_linear | squaredcos_cap_v2
  std::optional<std::vector<double>> trained_betas;
  std::optional<std::string> prediction_type;   // epsilon | v_prediction | sample
  std::optional<std::string> timestep_spacing;  // leading | trailing | linspace
  std::optional<std::int64_t> steps_offset;
  std::optional<bool> clip_sample;
  std::optional<double> clip_sample_range;
  std::optional<bool> set_alpha_to_one;
  std::optional<std::string> variance_type;  // fixed_small | fixed_small_log | fixed_large | fixed_large_log
  std::optional<bool> use_karras_sigmas;
  std::optional<bool> rescale_betas_zero_snr;
  std::optional<bool> thresholding;
  // DPM-Solver's own keys, for configs written by that scheduler.
  std::optional<std::int64_t> solver_order;
  std::optional<std::string> algorithm_type;
  std::optional<std::string> solver_type;
  std::optional<bool> lower_order_final;
  std::optional<bool> euler_at_final;
  std::optional<std::string> final_sigmas_type;  // zero | sigma_min

  // Throws pawtrait::Error naming `source` and the key when a known key has the wrong type
  // or an unsupported value. Unknown keys are ignored with a debug log line.
  static SchedulerConfig from_json(const nlohmann::json& json, const std::string& source = "scheduler config",
                                   const LogSink& log = {});
  static SchedulerConfig load(const std::filesystem::path& file, const LogSink& log = {});

  nlohmann::json to_json() const;  // only the keys that are set

  // Stable Diffusion's noise schedule: 1000 steps, scaled_linear 0.00085 → 0.012.
  static SchedulerConfig stable_diffusion();
};

}  // namespace pawtrait::schedulers
