#include "pipeline/generate_request.h"

#include "common/error.h"
#include "models/config_fields.h"

namespace pawtrait::pipeline {

nlohmann::json GenerateRequest::to_json() const {
  nlohmann::json loras_json = nlohmann::json::array();
  for (const auto& l : loras) loras_json.push_back({{"path", l.path}, {"strength", l.strength}});
  return {{"model", model},
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
}

GenerateRequest GenerateRequest::from_json(const nlohmann::json& json, const std::string& source) {
  const models::ConfigFields f(json, source);
  GenerateRequest r;
  r.model = f.text("model", r.model);
  r.model_config = f.text("model_config", r.model_config);
  r.prompt = f.text("prompt", r.prompt);
  if (json.contains("negative_prompt") && !json["negative_prompt"].is_null()) {
    r.negative_prompt = f.text("negative_prompt", "");
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
      r.loras.push_back({lf.text("path", ""), lf.number("strength", 1.0)});
    }
  }
  return r;
}

}  // namespace pawtrait::pipeline
