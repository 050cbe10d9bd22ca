#include "schedulers/flow_match_config.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/error.h"

namespace pawtrait::schedulers {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& source, const std::string& key, const std::string& what) {
  throw Error(source + ": \"" + key + "\" " + what);
}

// Keys with no effect on the klein schedule, read past without a log line.
constexpr std::array<std::string_view, 6> kQuiet = {"_class_name",        "_diffusers_version", "base_shift",
                                                    "base_image_seq_len", "max_image_seq_len",  "max_shift"};
// Switches that change the schedule when on; off (false or null) they are the default.
constexpr std::array<std::string_view, 6> kOffOnly = {"invert_sigmas",          "shift_terminal",
                                                      "stochastic_sampling",    "use_karras_sigmas",
                                                      "use_exponential_sigmas", "use_beta_sigmas"};

}  // namespace

FlowShift flow_shift_from_config(const json& config, const std::string& source, const LogSink& log) {
  if (!config.is_object()) throw Error(source + ": expected a JSON object");
  FlowShift s;
  for (auto it = config.begin(); it != config.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "num_train_timesteps") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1) bad(source, key, "must be a whole number of 1 or more");
      s.num_train_timesteps = v.get<std::int64_t>();
    } else if (key == "shift") {
      if (!v.is_number() || !(v.get<double>() > 0)) bad(source, key, "must be a number above 0");
      s.shift = v.get<double>();
    } else if (key == "use_dynamic_shifting") {
      if (!v.is_boolean()) bad(source, key, "must be true or false");
      s.use_dynamic_shifting = v.get<bool>();
    } else if (key == "time_shift_type") {
      if (!v.is_string() || (v != "exponential" && v != "linear"))
        bad(source, key, "must be \"exponential\" or \"linear\"");
      s.time_shift_type = v.get<std::string>();
    } else if (std::find(kOffOnly.begin(), kOffOnly.end(), key) != kOffOnly.end()) {
      if (!v.is_null() && v != false) {
        bad(source, key,
            "is " + v.dump() +
                "; Pawtrait does not implement it, and sampling without it would give other pictures than the "
                "model's own scheduler");
      }
    } else if (std::find(kQuiet.begin(), kQuiet.end(), key) == kQuiet.end()) {
      log_to(log, LogLevel::Debug, source + ": ignoring unknown key \"" + key + "\"");
    }
  }
  return s;
}

}  // namespace pawtrait::schedulers
