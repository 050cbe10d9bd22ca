#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/log.h"
#include "schedulers/flow_match_sigmas.h"

namespace pawtrait::schedulers {

// A FlowMatchEulerDiscreteScheduler scheduler_config.json as the FLUX.2 [klein] pipeline uses
// it: the shift and whether μ sets it. base_shift, max_shift and the image sequence lengths
// only feed FLUX.1's μ, which klein computes its own way: they are read past. Throws
// pawtrait::Error naming `source` and the key for a wrong type, a shift that is not positive,
// or a setting that would change the schedule in a way Pawtrait does not implement
// (inverted, stretched to a terminal σ, Karras/exponential/beta σ, stochastic sampling).
FlowShift flow_shift_from_config(const nlohmann::json& json, const std::string& source = "scheduler config",
                                 const LogSink& log = {});

}  // namespace pawtrait::schedulers
