#include "pipeline/image_metadata.h"

#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"
#include "imaging/png_text.h"
#include "schedulers/sampler_registry.h"

namespace pawtrait::pipeline {
namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string stem(const std::string& path) {
  std::filesystem::path p(path);
  if (p.has_filename() && p.filename() != ".") return p.stem().string();
  return p.parent_path().filename().string();
}

}  // namespace

std::string a1111_parameters(const GenerateRequest& r) {
  std::ostringstream out;
  out << r.prompt << '\n';
  if (r.negative_prompt && !r.negative_prompt->empty()) out << "Negative prompt: " << *r.negative_prompt << '\n';
  out << "Steps: " << r.steps << ", Sampler: " << schedulers::sampler_info(r.sampler).label
      << ", CFG scale: " << number(r.guidance) << ", Seed: " << r.seed << ", Size: " << r.width << "x" << r.height
      << ", Model: " << stem(r.model);
  if (!r.vae.empty()) out << ", VAE: " << stem(r.vae);
  if (r.clip_skip > 0) out << ", Clip skip: " << r.clip_skip + 1;  // A1111 counts the last layer as 1
  for (const auto& lora : r.loras) out << ", Lora: " << stem(lora.path) << ":" << number(lora.strength);
  // Not an A1111 key (it has one cleanup): said only when the prompts were read the older way.
  if (r.prompt_cleanup != "nfc") out << ", Prompt cleanup: " << r.prompt_cleanup;
  return out.str();
}

std::map<std::string, std::string> png_metadata(const GenerateRequest& request) {
  return {{"parameters", a1111_parameters(request)}, {"pawtrait", request.to_json().dump()}};
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
