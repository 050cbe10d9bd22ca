#include "tensors/weight_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/json_file.h"

namespace pawtrait::tensors {
namespace {

namespace fs = std::filesystem;

// "model.fp16.safetensors" -> variant "fp16"; "model.safetensors" -> "".
std::string variant_of(const std::string& filename, const std::string& suffix) {
  std::string stem = filename.substr(0, filename.size() - suffix.size());
  auto dot = stem.rfind('.');
  if (dot == std::string::npos) return "";
  return stem.substr(dot + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<fs::path> shards_from_index(const fs::path& index_file) {
  const nlohmann::json index = read_json_file(index_file);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(index_file.string() + ": has no \"weight_map\" object");
  }
  std::set<std::string> names;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw Error(index_file.string() + ": weight_map entry '" + tensor + "' is not a file name");
    const auto& file = shard.get_ref<const std::string&>();
    if (file.find('/') != std::string::npos || file == "..") {
      throw Error(index_file.string() + ": weight_map entry '" + tensor + "' points outside the folder");
    }
    names.insert(file);
  }
  std::vector<fs::path> files;
  for (const auto& name : names) {
    fs::path shard = index_file.parent_path() / name;
    if (!fs::exists(shard)) {
      throw Error(index_file.string() + " lists shard " + name + ", which is missing; download the model again");
    }
    files.push_back(shard);
  }
  return files;
}

}  // namespace

std::vector<fs::path> find_weight_files(const fs::path& component_dir, const std::string& variant) {
  if (!fs::is_directory(component_dir)) throw Error(component_dir.string() + ": folder not found");
  std::vector<fs::path> singles;
  std::vector<fs::path> indexes;
  bool has_pickle = false;
  for (const auto& item : fs::directory_iterator(component_dir)) {
    if (!item.is_regular_file()) continue;
    const std::string name = item.path().filename().string();
    if (ends_with(name, ".safetensors.index.json")) {
      if (variant_of(name, ".safetensors.index.json") == variant) {
        indexes.push_back(item.path());
      }
    } else if (ends_with(name, ".safetensors")) {
      std::string v = variant_of(name, ".safetensors");
      // Shards ("<base>-00001-of-00002.safetensors") are only loaded through their index.
      bool is_shard = name.find("-of-") != std::string::npos;
      if (!is_shard && ((variant.empty() && v.empty()) || v == variant)) singles.push_back(item.path());
    } else if (ends_with(name, ".bin") || ends_with(name, ".ckpt") || ends_with(name, ".pt") ||
               ends_with(name, ".pth")) {
      has_pickle = true;
    }
  }
  std::sort(singles.begin(), singles.end());
  std::sort(indexes.begin(), indexes.end());
  if (!indexes.empty()) return shards_from_index(indexes.front());
  if (singles.size() == 1) return singles;
  if (singles.size() > 1) {
    throw Error(component_dir.string() + ": several weight files (" + singles[0].filename().string() + ", " +
                singles[1].filename().string() + ", ...) and no index naming which to use");
  }
  std::string what = variant.empty() ? "no .safetensors weights" : "no ." + variant + ".safetensors weights";
  if (has_pickle) {
    throw Error(component_dir.string() + ": " + what +
                ", only pickle files (.bin/.ckpt). Pawtrait does not load pickles because they can run code; "
                "convert the model to safetensors or download its safetensors version");
  }
  throw Error(component_dir.string() + ": " + what + " found");
}

}  // namespace pawtrait::tensors
