#include "pipeline/generate_request.h"

#include <charconv>

#include "common/error.h"
#include "models/config_fields.h"

namespace pawtrait::pipeline {

namespace {

using SizeField = std::optional<GenerateRequest::Pair> GenerateRequest::*;
constexpr std::array<std::pair<const char*, SizeField>, 6> kSizeFields = {{
    {"original_size", &GenerateRequest::original_size},
    {"crops_coords_top_left", &GenerateRequest::crops_coords_top_left},
    {"target_size", &GenerateRequest::target_size},
    {"negative_original_size", &GenerateRequest::negative_original_size},
    {"negative_crops_coords_top_left", &GenerateRequest::negative_crops_coords_top_left},
    {"negative_target_size", &GenerateRequest::negative_target_size},
}};

}  // namespace

nlohmann::json GenerateRequest::to_json() const {
  nlohmann::json loras_json = nlohmann::json::array();
  for (const auto& l : loras) {
    nlohmann::json lora = {{"path", l.path}, {"strength", l.strength}};
    if (!l.hash.empty()) lora["hash"] = l.hash;
    loras_json.push_back(lora);
  }
  nlohmann::json json = {
      {"model", model},
      {"model_config", model_config},
      {"loras", loras_json},
      {"prompt", prompt},
      {"negative_prompt", negative_prompt ? nlohmann::json(*negative_prompt) : nlohmann::json(nullptr)},
      {"sampler", sampler},
      {"steps", steps},
      {"guidance", guidance},
      {"eta", eta},
      {"width", width},
      {"height", height},
      {"seed", seed},
      {"count", count},
      {"batch_size", batch_size},
      {"clip_skip", clip_skip},
      {"device", device},
      {"dtype", dtype}};
  // Written only when set, so requests without them read as before.
  if (!model_hash.empty()) json["model_hash"] = model_hash;
  if (!vae.empty()) json["vae"] = vae;
  if (!vae_hash.empty()) json["vae_hash"] = vae_hash;
  if (!text_encoder_layers.empty()) json["text_encoder_layers"] = text_encoder_layers;
  if (prompt_cleanup != "nfc") json["prompt_cleanup"] = prompt_cleanup;
  for (const auto& [key, field] : kSizeFields) {
    if (const auto& value = this->*field) json[key] = {(*value)[0], (*value)[1]};
  }
  return json;
}

GenerateRequest GenerateRequest::from_json(const nlohmann::json& json, const std::string& source) {
  const models::ConfigFields f(json, source);
  GenerateRequest r;
  r.model = f.text("model", r.model);
  r.model_config = f.text("model_config", r.model_config);
  r.model_hash = f.text("model_hash", r.model_hash);
  r.vae = f.text("vae", r.vae);
  r.vae_hash = f.text("vae_hash", r.vae_hash);
  r.text_encoder_layers = f.text("text_encoder_layers", r.text_encoder_layers);
  r.prompt_cleanup = f.text("prompt_cleanup", r.prompt_cleanup);
  r.prompt = f.text("prompt", r.prompt);
  if (json.contains("negative_prompt") && !json["negative_prompt"].is_null()) {
    r.negative_prompt = f.text("negative_prompt", "");
  }
  for (const auto& [key, field] : kSizeFields) {
    if (!json.is_object() || !json.contains(key) || json[key].is_null()) continue;
    const std::vector<std::int64_t> pair = f.integers(key, {});
    if (pair.size() != 2 || pair[0] < 0 || pair[1] < 0 || pair[0] > 65536 || pair[1] > 65536) {
      f.fail(key, "must be [height, width] (two whole numbers from 0 to 65536)");
    }
    r.*field = GenerateRequest::Pair{pair[0], pair[1]};
  }
  r.sampler = f.text("sampler", r.sampler);
  r.steps = f.integer("steps", r.steps);
  r.guidance = f.number("guidance", r.guidance);
  r.eta = f.number("eta", r.eta);
  r.width = f.integer("width", r.width);
  r.height = f.integer("height", r.height);
  if (f.has("seed")) {
    if (!json["seed"].is_number_unsigned()) f.fail("seed", "must be a non-negative whole number");
    r.seed = json["seed"].get<std::uint64_t>();
  }
  r.count = f.integer("count", r.count);
  r.batch_size = f.integer("batch_size", r.batch_size);
  r.clip_skip = f.integer("clip_skip", r.clip_skip);
  r.device = f.text("device", r.device);
  r.dtype = f.text("dtype", r.dtype);
  if (f.has("loras")) {
    if (!json["loras"].is_array()) f.fail("loras", "must be a list of {path, strength}");
    for (const auto& item : json["loras"]) {
      const models::ConfigFields lf(item, source + " loras[]");
      r.loras.push_back({lf.text("path", ""), lf.number("strength", 1.0), lf.text("hash", "")});
    }
  }
  return r;
}

std::vector<std::int64_t> parse_text_encoder_layers(const std::string& text) {
  std::vector<std::int64_t> layers;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    std::int64_t layer = -1;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), layer);
    if (item.empty() || error != std::errc() || end != item.data() + item.size() || layer < 0) {
      throw Error("--text-encoder-layers \"" + text +
                  "\": expected comma-separated layer numbers such as 9,18,27 (0 is the embeddings)");
    }
    layers.push_back(layer);
    pos = comma + 1;
  }
  return layers;
}

}  // namespace pawtrait::pipeline
