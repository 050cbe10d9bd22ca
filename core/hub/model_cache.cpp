#include "hub/model_cache.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace pawtrait::hub {

namespace fs = std::filesystem;

fs::path default_models_dir() {
  const char* data_home = std::getenv("XDG_DATA_HOME");
  if (data_home != nullptr && data_home[0] == '/') return fs::path(data_home) / "pawtrait" / "models";
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] == '\0') {
    throw Error("can't find a folder for downloaded models: neither XDG_DATA_HOME nor HOME is set; pass --dest DIR");
  }
  return fs::path(home) / ".local" / "share" / "pawtrait" / "models";
}

std::string cache_folder_name(const std::string& repo_id) {
  std::string name = repo_id;
  const auto slash = name.find('/');
  if (slash != std::string::npos) name.replace(slash, 1, "--");
  return name;
}

std::optional<CachedModel> read_complete_marker(const fs::path& folder) {
  std::ifstream in(folder / kCompleteMarker);
  if (!in) return std::nullopt;
  try {
    const auto doc = nlohmann::json::parse(in);
    CachedModel model;
    model.folder = folder;
    model.repo_id = doc.at("repo_id").get<std::string>();
    model.revision = doc.value("revision", "");
    model.commit = doc.value("commit", "");
    model.variant = doc.value("variant", "");
    model.files = doc.value("files", std::vector<std::string>{});
    return model;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged marker means "not complete"; the next download rewrites it
  }
}

void write_complete_marker(const CachedModel& model) {
  nlohmann::json doc = {{"repo_id", model.repo_id},
                        {"revision", model.revision},
                        {"commit", model.commit},
                        {"variant", model.variant},
                        {"files", model.files}};
  write_file_atomically(model.folder / kCompleteMarker, doc.dump(2) + "\n");
}

void remove_complete_marker(const fs::path& folder) {
  std::error_code error;
  fs::remove(folder / kCompleteMarker, error);
  if (error) throw Error("can't update " + folder.string() + ": " + error.message());
}

std::vector<CachedModel> list_cached_models(const fs::path& models_dir) {
  std::vector<CachedModel> models;
  std::error_code error;
  if (!fs::is_directory(models_dir, error)) return models;
  for (const auto& entry : fs::directory_iterator(models_dir, error)) {
    if (!entry.is_directory(error)) continue;
    if (auto model = read_complete_marker(entry.path())) models.push_back(std::move(*model));
  }
  std::sort(models.begin(), models.end(),
            [](const CachedModel& a, const CachedModel& b) { return a.repo_id < b.repo_id; });
  return models;
}

}  // namespace pawtrait::hub
