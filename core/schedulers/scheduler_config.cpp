#include "schedulers/scheduler_config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "common/error.h"
#include "common/json_file.h"

namespace pawtrait::schedulers {
namespace {

using nlohmann::json;

[[noreturn]] void bad_value(const std::string& source, const std::string& key, const std::string& what) {
  throw Error(source + ": \"" + key + "\" " + what);
}

void read(const json& value, const std::string& source, const std::string& key, std::optional<std::int64_t>& out) {
  if (value.is_null()) return;
  if (value.is_number_integer()) {
    out = value.get<std::int64_t>();
    return;
  }
  // 1000.0 as some tools write it; checked before converting, which is undefined out of range.
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e15) {
      out = static_cast<std::int64_t>(d);
      return;
    }
  }
  bad_value(source, key, "must be a whole number, not " + value.dump());
}

void read(const json& value, const std::string& source, const std::string& key, std::optional<double>& out) {
  if (value.is_null()) return;
  if (!value.is_number()) bad_value(source, key, "must be a number, not " + value.dump());
  out = value.get<double>();
}

void read(const json& value, const std::string& source, const std::string& key, std::optional<bool>& out) {
  if (value.is_null()) return;
  if (!value.is_boolean()) bad_value(source, key, "must be true or false, not " + value.dump());
  out = value.get<bool>();
}

void read(const json& value, const std::string& source, const std::string& key, std::optional<std::string>& out) {
  if (value.is_null()) return;
  if (!value.is_string()) bad_value(source, key, "must be a string, not " + value.dump());
  out = value.get<std::string>();
}

void read(const json& value, const std::string& source, const std::string& key,
          std::optional<std::vector<double>>& out) {
  if (value.is_null()) return;
  if (!value.is_array()) bad_value(source, key, "must be a list of numbers or null");
  std::vector<double> numbers;
  for (const json& item : value) {
    if (!item.is_number()) bad_value(source, key, "must be a list of numbers; it holds " + item.dump());
    numbers.push_back(item.get<double>());
  }
  out = std::move(numbers);
}

template <std::size_t N>
void check_choice(const std::optional<std::string>& value, const std::string& source, const char* key,
                  const std::array<std::string_view, N>& allowed) {
  if (!value) return;
  if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) return;
  std::string list;
  for (auto choice : allowed) list += (list.empty() ? "" : ", ") + std::string(choice);
  bad_value(source, key, "is \"" + *value + "\"; Pawtrait supports " + list);
}

// Keys diffusers writes that change nothing for the samplers here (or only act with a
// feature that is refused, like thresholding); they are skipped without a log line.
constexpr std::array<std::string_view, 5> kQuietKeys = {"_diffusers_version", "dynamic_thresholding_ratio",
                                                        "sample_max_value", "skip_prk_steps", "time_shift_type"};

// Keys that change the mathematics when they are not at their default, for features not
// implemented here (flow-matching sigmas, other sigma grids, continuous timesteps, ...): a
// config that sets one is refused, naming the key, rather than sampled wrongly. null counts
// as the default.
struct Unimplemented {
  std::string_view key;
  const char* default_json;
};
constexpr std::array<Unimplemented, 11> kUnimplemented = {{{"use_flow_sigmas", "false"},
                                                           {"flow_shift", "1.0"},
                                                           {"use_dynamic_shifting", "false"},
                                                           {"use_exponential_sigmas", "false"},
                                                           {"use_beta_sigmas", "false"},
                                                           {"use_lu_lambdas", "false"},
                                                           {"timestep_type", "\"discrete\""},
                                                           {"interpolation_type", "\"linear\""},
                                                           {"sigma_min", "null"},
                                                           {"sigma_max", "null"},
                                                           {"lambda_min_clipped", "-Infinity"}}};

void check_unimplemented(const std::string& key, const json& value, const std::string& source) {
  for (const auto& u : kUnimplemented) {
    if (u.key != key || value.is_null()) continue;
    const json fallback = parse_python_json(u.default_json, "default");
    const bool same =
        fallback.is_number() && value.is_number() ? fallback.get<double>() == value.get<double>() : fallback == value;
    if (!same) {
      bad_value(source, key,
                "is " + value.dump() + "; Pawtrait does not implement it (only " + std::string(u.default_json) +
                    "), and sampling without it would give other pictures than the model's own scheduler");
    }
  }
}

bool is_unimplemented(const std::string& key) {
  return std::any_of(kUnimplemented.begin(), kUnimplemented.end(), [&](const auto& u) { return u.key == key; });
}

}  // namespace

SchedulerConfig SchedulerConfig::from_json(const json& json, const std::string& source, const LogSink& log) {
  if (!json.is_object()) throw Error(source + ": expected a JSON object");
  SchedulerConfig c;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "_class_name")
      read(v, source, key, c.class_name);
    else if (key == "num_train_timesteps")
      read(v, source, key, c.num_train_timesteps);
    else if (key == "beta_start")
      read(v, source, key, c.beta_start);
    else if (key == "beta_end")
      read(v, source, key, c.beta_end);
    else if (key == "beta_schedule")
      read(v, source, key, c.beta_schedule);
    else if (key == "trained_betas")
      read(v, source, key, c.trained_betas);
    else if (key == "prediction_type")
      read(v, source, key, c.prediction_type);
    else if (key == "timestep_spacing")
      read(v, source, key, c.timestep_spacing);
    else if (key == "steps_offset")
      read(v, source, key, c.steps_offset);
    else if (key == "clip_sample")
      read(v, source, key, c.clip_sample);
    else if (key == "clip_sample_range")
      read(v, source, key, c.clip_sample_range);
    else if (key == "set_alpha_to_one")
      read(v, source, key, c.set_alpha_to_one);
    else if (key == "variance_type")
      read(v, source, key, c.variance_type);
    else if (key == "use_karras_sigmas")
      read(v, source, key, c.use_karras_sigmas);
    else if (key == "rescale_betas_zero_snr")
      read(v, source, key, c.rescale_betas_zero_snr);
    else if (key == "thresholding")
      read(v, source, key, c.thresholding);
    else if (key == "solver_order")
      read(v, source, key, c.solver_order);
    else if (key == "algorithm_type")
      read(v, source, key, c.algorithm_type);
    else if (key == "solver_type")
      read(v, source, key, c.solver_type);
    else if (key == "lower_order_final")
      read(v, source, key, c.lower_order_final);
    else if (key == "euler_at_final")
      read(v, source, key, c.euler_at_final);
    else if (key == "final_sigmas_type")
      read(v, source, key, c.final_sigmas_type);
    else if (is_unimplemented(key))
      check_unimplemented(key, v, source);
    else if (std::find(kQuietKeys.begin(), kQuietKeys.end(), key) == kQuietKeys.end()) {
      log_to(log, LogLevel::Debug, source + ": ignoring unknown key \"" + key + "\"");
    }
  }

  check_choice(c.beta_schedule, source, "beta_schedule",
               std::array<std::string_view, 3>{"linear", "scaled_linear", "squaredcos_cap_v2"});
  check_choice(c.prediction_type, source, "prediction_type",
               std::array<std::string_view, 3>{"epsilon", "v_prediction", "sample"});
  check_choice(c.timestep_spacing, source, "timestep_spacing",
               std::array<std::string_view, 3>{"leading", "trailing", "linspace"});
  check_choice(c.variance_type, source, "variance_type",
               std::array<std::string_view, 4>{"fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log"});
  check_choice(c.algorithm_type, source, "algorithm_type", std::array<std::string_view, 1>{"dpmsolver++"});
  check_choice(c.solver_type, source, "solver_type", std::array<std::string_view, 2>{"midpoint", "heun"});
  check_choice(c.final_sigmas_type, source, "final_sigmas_type", std::array<std::string_view, 2>{"zero", "sigma_min"});
  if (c.num_train_timesteps && *c.num_train_timesteps < 1) {
    bad_value(source, "num_train_timesteps", "must be at least 1");
  }
  if (c.steps_offset && *c.steps_offset < 0) bad_value(source, "steps_offset", "must not be negative");
  if (c.thresholding.value_or(false)) {
    bad_value(source, "thresholding",
              "is true; dynamic thresholding is not supported (Stable Diffusion does not use it)");
  }
  if (c.solver_order && (*c.solver_order < 1 || *c.solver_order > 2)) {
    bad_value(source, "solver_order", "must be 1 or 2");
  }
  return c;
}

SchedulerConfig SchedulerConfig::load(const std::filesystem::path& file, const LogSink& log) {
  return from_json(read_json_file(file), file.string(), log);
}

SchedulerConfig SchedulerConfig::stable_diffusion() {
  SchedulerConfig c;
  c.num_train_timesteps = 1000;
  c.beta_start = 0.00085;
  c.beta_end = 0.012;
  c.beta_schedule = "scaled_linear";
  return c;
}

json SchedulerConfig::to_json() const {
  json out = json::object();
  auto put = [&](const char* key, const auto& value) {
    if (value) out[key] = *value;
  };
  put("_class_name", class_name);
  put("num_train_timesteps", num_train_timesteps);
  put("beta_start", beta_start);
  put("beta_end", beta_end);
  put("beta_schedule", beta_schedule);
  put("trained_betas", trained_betas);
  put("prediction_type", prediction_type);
  put("timestep_spacing", timestep_spacing);
  put("steps_offset", steps_offset);
  put("clip_sample", clip_sample);
  put("clip_sample_range", clip_sample_range);
  put("set_alpha_to_one", set_alpha_to_one);
  put("variance_type", variance_type);
  put("use_karras_sigmas", use_karras_sigmas);
  put("rescale_betas_zero_snr", rescale_betas_zero_snr);
  put("thresholding", thresholding);
  put("solver_order", solver_order);
  put("algorithm_type", algorithm_type);
  put("solver_type", solver_type);
  put("lower_order_final", lower_order_final);
  put("euler_at_final", euler_at_final);
  put("final_sigmas_type", final_sigmas_type);
  return out;
}

}  // namespace pawtrait::schedulers
