#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/atomic_file.h"

namespace pawtrait::hub {

// The file that makes a model folder a complete cache entry. It is written (atomically)
// only after every file of the revision has been downloaded and verified, and removed
// before a folder is changed, so a folder without it is never used as a finished model.
inline constexpr const char* kCompleteMarker = kFolderCompleteMarker;

// A complete model in the cache, as its marker describes it.
struct CachedModel {
  std::filesystem::path folder;
  std::string repo_id;
  std::string revision;  // as asked ("main")
  std::string commit;    // what it resolved to
  std::string variant;   // "" or "fp16"
  std::vector<std::string> files;
};

// $XDG_DATA_HOME/pawtrait/models, else ~/.local/share/pawtrait/models.
std::filesystem::path default_models_dir();

// "org/name" → "org--name" (the hub's own cache uses the same separator).
std::string cache_folder_name(const std::string& repo_id);

// The marker in `folder`, if present and readable.
std::optional<CachedModel> read_complete_marker(const std::filesystem::path& folder);
void write_complete_marker(const CachedModel& model);
void remove_complete_marker(const std::filesystem::path& folder);

// Complete entries directly under `models_dir` (default: default_models_dir()), sorted by
// repo id. Folders without a marker (interrupted downloads) are not listed.
std::vector<CachedModel> list_cached_models(const std::filesystem::path& models_dir = default_models_dir());

}  // namespace pawtrait::hub
