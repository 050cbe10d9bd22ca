#include "pipeline/model_search.h"

#include <set>

#include "common/error.h"
#include "families/model_kinds.h"
#include "models/model_fingerprint.h"

namespace pawtrait::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int kDeepestFolder = 2;  // the deepest folder entered: project/runs/<run>/lora/ (depth 0, 1, 2)
// A folder is searched so far and no further, so that a picture in a home folder does not
// walk the whole disk.
constexpr int kMostEntries = 20000;

// One model the picture names.
struct Wanted {
  const char* what;  // "model", "VAE", ...
  std::string how;   // how the person names it instead
  std::string name;
  std::string hash;
  bool builtin = false;
};

// The file whose hash a built-in run carries (its family's location).
fs::path hashed(const fs::path& candidate, bool builtin) {
  return builtin ? candidate / "model.safetensors" : candidate;
}

std::vector<fs::path> named_in(const fs::path& folder, const Wanted& wanted) {
  std::vector<fs::path> found;
  std::error_code error;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, error), end;
  for (int seen = 0; !error && it != end && seen < kMostEntries; it.increment(error), ++seen) {
    const std::string name = it->path().filename().string();
    const bool folder_entry = it->is_directory(error);
    if (name.starts_with(".") || (folder_entry && it.depth() > kDeepestFolder)) it.disable_recursion_pending();
    if (name != wanted.name || name.starts_with(".")) continue;
    if (fs::exists(hashed(it->path(), wanted.builtin), error)) found.push_back(it->path());
  }
  return found;
}

std::string joined(const std::vector<fs::path>& folders) {
  std::string text;
  for (std::size_t i = 0; i < folders.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == folders.size() ? " or " : ", ") + folders[i].string();
  }
  return text.empty() ? "no folder" : text;
}

std::string as_given(const fs::path& path, bool builtin) {
  return (builtin ? std::string(families::kBuiltinPrefix) : std::string()) + path.string();
}

std::string described(const Wanted& wanted) {
  return wanted.name + (wanted.hash.empty() ? "" : " (hash " + wanted.hash + ")");
}

// The path for `value` (a name or a path), or "" when optional and not found.
std::string locate(const std::string& value, Wanted wanted, bool required, const std::vector<fs::path>& folders,
                   const LogSink& log, const fs::path& cache) {
  if (value.empty()) return value;
  wanted.builtin = value.starts_with(families::kBuiltinPrefix);
  const fs::path given(wanted.builtin ? value.substr(families::kBuiltinPrefix.size()) : value);
  wanted.name = models::shared_name(given);
  const auto hash_of = [&](const fs::path& candidate) {
    return models::short_hash(hashed(candidate, wanted.builtin), cache);
  };
  std::error_code error;
  if (given.is_absolute() && fs::exists(hashed(given, wanted.builtin), error)) {
    if (const std::string hash = wanted.hash.empty() ? "" : hash_of(given); hash != wanted.hash) {
      log_to(log, LogLevel::Warning,
             given.string() + " is not the " + wanted.what + " the picture was made with, " + described(wanted) +
                 " (its hash is " + hash + "): the pictures will differ");
    }
    return value;
  }
  std::optional<std::pair<fs::path, std::string>> other;
  for (const fs::path& folder : folders) {
    for (const fs::path& candidate : named_in(folder, wanted)) {
      std::string hash;
      try {
        hash = hash_of(candidate);
      } catch (const Error&) {
        continue;  // unreadable: not the one
      }
      if (wanted.hash.empty() || hash == wanted.hash) {
        log_to(log, LogLevel::Info,
               std::string("the ") + wanted.what + " " + described(wanted) + ": " + candidate.string());
        return as_given(candidate, wanted.builtin);
      }
      if (!other) other.emplace(candidate, hash);
    }
  }
  if (other) {
    log_to(log, LogLevel::Warning,
           "the picture was made with the " + std::string(wanted.what) + " " + described(wanted) + "; " +
               other->first.string() + " has its name but the hash " + other->second +
               ": another version, so the pictures will differ");
    return as_given(other->first, wanted.builtin);
  }
  const std::string missing = std::string("the picture was made with the ") + wanted.what + " " + described(wanted) +
                              ", which is not in " + joined(folders);
  if (!required) {
    log_to(log, LogLevel::Warning, missing + "; going on without it");
    return "";
  }
  // The models folder names a downloaded model "org--name" after its hub repository.
  const std::size_t dashes = wanted.name.find("--");
  const std::string download = dashes == std::string::npos || wanted.builtin
                                   ? ""
                                   : "download it (pawtrait-cli download " + wanted.name.substr(0, dashes) + "/" +
                                         wanted.name.substr(dashes + 2) + "), ";
  throw Error(missing + ": " + download + "put it in one of them, or " + wanted.how);
}

}  // namespace

GenerateRequest locate_models(GenerateRequest request, const std::vector<fs::path>& folders, const LogSink& log,
                              const fs::path& cache, const HowToName& how) {
  std::vector<fs::path> unique;
  std::set<fs::path> seen;
  for (const fs::path& folder : folders) {
    std::error_code error;
    const fs::path canonical = fs::weakly_canonical(folder, error);
    // Missing folders stay: the message names them (the models folder before any download).
    if (seen.insert(error ? folder : canonical).second) unique.push_back(error ? folder : canonical);
  }
  request.model = locate(request.model, {"model", how.model, "", request.model_hash}, true, unique, log, cache);
  request.model_config = locate(request.model_config, {"model configs", "", "", ""}, false, unique, log, cache);
  request.vae = locate(request.vae, {"VAE", how.vae, "", request.vae_hash}, true, unique, log, cache);
  for (LoraSpec& lora : request.loras) {
    lora.path = locate(lora.path, {"LoRA", how.lora, "", lora.hash}, true, unique, log, cache);
  }
  return request;
}

std::vector<fs::path> folders_near(const fs::path& picture) {
  std::error_code error;
  fs::path folder = fs::absolute(picture, error).parent_path();
  std::vector<fs::path> folders;
  // Never the root: a picture in /tmp would have the whole disk searched.
  for (int up = 0; up < 3 && !folder.empty() && folder != folder.root_path(); ++up) {
    folders.push_back(folder);
    folder = folder.parent_path();
  }
  const fs::path here = fs::current_path(error);
  if (!error) folders.push_back(here);
  return folders;
}

}  // namespace pawtrait::pipeline
