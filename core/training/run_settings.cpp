#include "training/run_settings.h"

#include <filesystem>

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

std::string same_file_form(const std::string& path) {
  std::error_code error;
  const fs::path canonical = fs::weakly_canonical(path, error);
  return error ? fs::path(path).lexically_normal().string() : canonical.string();
}

// Photo lists and crop and turn maps name files: the same file spelled another way is the same photo.
nlohmann::json comparable(const std::string& key, const nlohmann::json& value) {
  if (key == "photos" && value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : value) out.push_back(p.is_string() ? nlohmann::json(same_file_form(p)) : p);
    return out;
  }
  if ((key == "crops" || key == "turns") && value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [file, box] : value.items()) out[same_file_form(file)] = box;
    return out;
  }
  return value;
}

std::string shown(const nlohmann::json& value) {
  const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  return text.size() > 120 ? text.substr(0, 117) + "..." : text;
}

void compare(const nlohmann::json& saved, const nlohmann::json& given, const std::string& prefix,
             std::vector<std::string>& differences) {
  for (const auto& [key, value] : given.items()) {
    if (prefix.empty() && (key == "steps" || key == "run_dir" || key == "resume")) continue;
    const auto it = saved.find(key);
    if (it == saved.end()) continue;  // a setting newer than the run keeps its default there
    if (key != "crops" && key != "turns" && it->is_object() && value.is_object()) {
      compare(*it, value, prefix + key + ".", differences);  // a nested config: name the field in it
    } else if (comparable(key, *it) != comparable(key, value)) {
      differences.push_back(prefix + key + ": the run has " + shown(*it) + ", this command says " + shown(value));
    }
  }
}

}  // namespace

std::vector<std::string> setting_differences(const nlohmann::json& saved, const nlohmann::json& given) {
  if (!saved.is_object() || !given.is_object()) return {"the run's config.json is not a settings object"};
  std::vector<std::string> differences;
  compare(saved, given, "", differences);
  return differences;
}

}  // namespace pawtrait::training
