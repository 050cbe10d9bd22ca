#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::training {

// The settings of a training request (its config.json form) that differ between a run's saved
// request and the one a command describes now, one line each: "rank: the run has 8, this
// command says 16". The total step count (which a resumed run may raise), the run folder and
// the resume flag are not compared; photo paths are compared as the files they name.
std::vector<std::string> setting_differences(const nlohmann::json& saved, const nlohmann::json& given);

}  // namespace pawtrait::training
