#include "pipeline/image_metadata.h"

#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"
#include "families/model_kinds.h"
#include "imaging/png_text.h"
#include "models/model_fingerprint.h"
#include "schedulers/sampler_registry.h"

namespace pawtrait::pipeline {
namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// A1111 names a checkpoint without its extension; a folder's name keeps its dots
// ("FLUX.2-klein-4B").
std::string stem(const std::string& path) {
  std::filesystem::path p(path);
  if (!p.has_filename() || p.filename() == ".") return p.parent_path().filename().string();
  for (const char* extension : {".safetensors", ".ckpt", ".pt", ".pth", ".bin"}) {
    if (p.extension() == extension) return p.stem().string();
  }
  return p.filename().string();
}

std::string name_of(const std::string& model) {
  if (model.empty()) return model;
  if (model.starts_with(families::kBuiltinPrefix)) {
    const std::string run = model.substr(families::kBuiltinPrefix.size());
    return run.empty() ? model : std::string(families::kBuiltinPrefix) + models::shared_name(run);
  }
  return models::shared_name(model);
}

}  // namespace

std::string a1111_parameters(const GenerateRequest& r) {
  std::ostringstream out;
  out << r.prompt << '\n';
  if (r.negative_prompt && !r.negative_prompt->empty()) out << "Negative prompt: " << *r.negative_prompt << '\n';
  out << "Steps: " << r.steps << ", Sampler: " << schedulers::sampler_info(r.sampler).label
      << ", CFG scale: " << number(r.guidance) << ", Seed: " << r.seed << ", Size: " << r.width << "x" << r.height
      << (r.model_hash.empty() ? "" : ", Model hash: " + r.model_hash) << ", Model: " << stem(r.model);
  if (!r.vae.empty()) out << (r.vae_hash.empty() ? "" : ", VAE hash: " + r.vae_hash) << ", VAE: " << stem(r.vae);
  if (r.clip_skip > 0) out << ", Clip skip: " << r.clip_skip + 1;  // A1111 counts the last layer as 1
  std::string lora_hashes;
  for (const auto& lora : r.loras) {
    out << ", Lora: " << stem(lora.path) << ":" << number(lora.strength);
    if (lora.hash.empty()) continue;
    lora_hashes += (lora_hashes.empty() ? "" : ", ") + stem(lora.path) + ": " + lora.hash;
  }
  if (!lora_hashes.empty()) out << ", Lora hashes: \"" << lora_hashes << '"';
  // Not an A1111 key (it has one cleanup): said only when the prompts were read the older way.
  if (r.prompt_cleanup != "nfc") out << ", Prompt cleanup: " << r.prompt_cleanup;
  return out.str();
}

GenerateRequest without_paths(const GenerateRequest& request) {
  GenerateRequest shared = request;
  shared.model = name_of(request.model);
  shared.model_config = name_of(request.model_config);
  shared.vae = name_of(request.vae);
  for (auto& lora : shared.loras) lora.path = name_of(lora.path);
  return shared;
}

std::map<std::string, std::string> png_metadata(const GenerateRequest& request) {
  const GenerateRequest shared = without_paths(request);
  return {{"parameters", a1111_parameters(shared)}, {"pawtrait", shared.to_json().dump()}};
}

GenerateRequest request_from_png(const std::string& file) {
  const auto text = imaging::read_png_text(std::filesystem::path(file));
  auto it = text.find("pawtrait");
  if (it == text.end()) {
    throw Error(file + " has no Pawtrait settings in it (only pictures Pawtrait made can be re-run with --from)");
  }
  return GenerateRequest::from_json(parse_python_json(it->second, file), file);
}

}  // namespace pawtrait::pipeline
