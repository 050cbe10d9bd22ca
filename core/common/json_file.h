#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace pawtrait {

// Reads a JSON file as Python's json module writes it: diffusers saves configs with bare
// NaN, Infinity and -Infinity (DPM-Solver's "lambda_min_clipped": -Infinity), which strict
// JSON parsers reject. Those become null. Throws pawtrait::Error naming the file.
nlohmann::json read_json_file(const std::filesystem::path& file);

// The same for text already in memory; `source` names it in errors.
nlohmann::json parse_python_json(const std::string& text, const std::string& source);

}  // namespace pawtrait
