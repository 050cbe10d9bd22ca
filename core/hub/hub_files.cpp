#include "hub/hub_files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"

namespace pawtrait::hub {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The variant of a weights file name: "" for "model.safetensors" or a shard
// "model-00001-of-00002.safetensors", "fp16" for "model.fp16.safetensors" or
// "model.fp16-00001-of-00002.safetensors". Diffusers weight names have no other dots.
std::string weights_variant(const std::string& file_name) {
  std::string stem = file_name.substr(0, file_name.size() - std::string(".safetensors").size());
  const auto dot = stem.find('.');
  if (dot == std::string::npos) return "";
  std::string variant = stem.substr(dot + 1);
  const auto shard = variant.find('-');
  if (shard != std::string::npos) variant = variant.substr(0, shard);
  return variant;
}

// "diffusion_pytorch_model.safetensors.index.fp16.json" → "fp16"; ".index.json" → "".
std::optional<std::string> index_variant(const std::string& file_name) {
  const auto at = file_name.find(".safetensors.index.");
  if (at == std::string::npos || !ends_with(file_name, ".json")) return std::nullopt;
  std::string rest = file_name.substr(at + std::string(".safetensors.index.").size());
  rest = rest.substr(0, rest.size() - std::string("json").size());
  if (!rest.empty() && rest.back() == '.') rest.pop_back();
  return rest;
}

int download_rank(const std::string& path) {
  if (path == "model_index.json") return 0;
  if (ends_with(path, ".safetensors")) return 2;
  return 1;
}

}  // namespace

bool is_safe_relative_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string::npos) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const std::string segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

void validate_repo_id(const std::string& repo_id) {
  const auto slash = repo_id.find('/');
  const bool shape_ok = slash != std::string::npos && slash > 0 && slash + 1 < repo_id.size() &&
                        repo_id.find('/', slash + 1) == std::string::npos;
  const bool chars_ok = std::all_of(repo_id.begin(), repo_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '/';
  });
  if (!shape_ok || !chars_ok || repo_id.find("..") != std::string::npos || repo_id.front() == '.') {
    throw Error("\"" + repo_id +
                "\" is not a Hugging Face model id: it looks like org/name, e.g. "
                "stable-diffusion-v1-5/stable-diffusion-v1-5");
  }
}

bool is_hex_digest(const std::string& text, std::size_t digits) {
  return text.size() == digits &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

RepoListing parse_repo_listing(const std::string& json_text, const std::string& repo_id) {
  RepoListing listing;
  listing.repo_id = repo_id;
  try {
    const auto doc = nlohmann::json::parse(json_text);
    if (!doc.is_object() || !doc.contains("siblings") || !doc["siblings"].is_array()) {
      throw Error("the hub's file list for " + repo_id + " has no \"siblings\" array");
    }
    if (doc.contains("sha") && doc["sha"].is_string()) listing.commit = doc["sha"].get<std::string>();
    for (const auto& sibling : doc["siblings"]) {
      RepoFile file;
      file.path = sibling.at("rfilename").get<std::string>();
      if (!is_safe_relative_path(file.path)) {
        throw Error("the hub's file list for " + repo_id + " names an unsafe path \"" + file.path + "\"");
      }
      if (sibling.contains("size") && sibling["size"].is_number_unsigned()) {
        file.size = sibling["size"].get<std::uint64_t>();
      }
      if (sibling.contains("lfs") && sibling["lfs"].is_object()) {
        const auto& lfs = sibling["lfs"];
        if (lfs.contains("sha256") && lfs["sha256"].is_string() &&
            is_hex_digest(lfs["sha256"].get<std::string>(), 64)) {
          file.sha256 = lfs["sha256"].get<std::string>();
        }
        if (lfs.contains("size") && lfs["size"].is_number_unsigned()) file.size = lfs["size"].get<std::uint64_t>();
      } else if (sibling.contains("blobId") && sibling["blobId"].is_string() &&
                 is_hex_digest(sibling["blobId"].get<std::string>(), 40)) {
        file.blob_id = sibling["blobId"].get<std::string>();
      }
      listing.files.push_back(std::move(file));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("the hub's file list for " + repo_id + " is not what Pawtrait expects (" + e.what() +
                "); if HF_ENDPOINT points at a mirror, check that it serves the hub's API");
  }
  return listing;
}

const std::vector<std::string>& model_components() {
  // The UNet families', and FLUX.2's transformer.
  static const std::vector<std::string> components = {"unet",           "transformer", "vae",         "text_encoder",
                                                      "text_encoder_2", "tokenizer",   "tokenizer_2", "scheduler"};
  return components;
}

std::vector<RepoFile> select_model_files(const RepoListing& listing, const std::string& variant) {
  const auto& components = model_components();
  const std::set<std::string> wanted(components.begin(), components.end());
  std::vector<RepoFile> chosen;
  // Per component: its weights (and shard indexes) by variant ("" = plain).
  std::map<std::string, std::map<std::string, std::vector<RepoFile>>> weights;

  for (const RepoFile& file : listing.files) {
    if (file.path == "model_index.json") {
      chosen.push_back(file);
      continue;
    }
    const auto slash = file.path.find('/');
    if (slash == std::string::npos || file.path.find('/', slash + 1) != std::string::npos) continue;
    const std::string component = file.path.substr(0, slash);
    const std::string name = file.path.substr(slash + 1);
    if (!wanted.count(component)) continue;
    if (component == "tokenizer") {
      if (ends_with(name, ".json") || ends_with(name, ".txt") || ends_with(name, ".model")) chosen.push_back(file);
      continue;
    }
    if (name == "config.json" || name == "scheduler_config.json") {
      chosen.push_back(file);
    } else if (ends_with(name, ".safetensors")) {
      weights[component][weights_variant(name)].push_back(file);
    } else if (const auto index = index_variant(name)) {
      weights[component][*index].push_back(file);
    }
  }
  for (const auto& [component, by_variant] : weights) {
    auto pick = by_variant.end();
    if (!variant.empty()) pick = by_variant.find(variant);
    if (pick == by_variant.end()) pick = by_variant.find("");
    if (pick == by_variant.end()) continue;  // only other variants (e.g. "non_ema"): not what was asked
    chosen.insert(chosen.end(), pick->second.begin(), pick->second.end());
  }
  std::stable_sort(chosen.begin(), chosen.end(), [](const RepoFile& a, const RepoFile& b) {
    const int ra = download_rank(a.path), rb = download_rank(b.path);
    return ra != rb ? ra < rb : a.path < b.path;
  });
  return chosen;
}

}  // namespace pawtrait::hub
