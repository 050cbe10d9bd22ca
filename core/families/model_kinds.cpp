#include "families/model_kinds.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/error.h"
#include "common/json_file.h"
#include "common/mapped_file.h"
#include "tensors/safetensors_header.h"

namespace pawtrait::families {
namespace {

struct PipelineKind {
  std::string_view class_name;
  std::string_view kind;
  bool supported;
};

constexpr std::array<PipelineKind, 12> kPipelines = {{
    {"StableDiffusionPipeline", "Stable Diffusion 1.x/2.x", true},
    {"StableDiffusionXLPipeline", "Stable Diffusion XL", true},
    {"StableDiffusionXLImg2ImgPipeline", "Stable Diffusion XL refiner (image to image)", false},
    {"StableDiffusionXLInpaintPipeline", "Stable Diffusion XL inpainting", false},
    {"StableDiffusionInpaintPipeline", "Stable Diffusion inpainting", false},
    {"StableDiffusionUpscalePipeline", "Stable Diffusion upscaler", false},
    {"StableDiffusionImg2ImgPipeline", "Stable Diffusion image to image", false},
    {"StableDiffusion3Pipeline", "Stable Diffusion 3", false},
    {"FluxPipeline", "FLUX.1", false},
    {"Flux2Pipeline", "FLUX.2 [dev]", false},
    {"Flux2KleinPipeline", "FLUX.2 [klein]", true},
    {"PixArtAlphaPipeline", "PixArt-α", false},
}};

bool has_prefix(const std::vector<std::string>& names, std::string_view prefix) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.starts_with(prefix); });
}

}  // namespace

std::optional<ModelKind> kind_of_pipeline(const std::string& class_name) {
  for (const auto& p : kPipelines) {
    if (p.class_name == class_name) return ModelKind{std::string(p.kind), p.supported};
  }
  return std::nullopt;
}

std::optional<ModelKind> kind_of_single_file(const std::vector<std::string>& names) {
  // SGM's SDXL files keep both text encoders under conditioner.embedders; the refiner has the
  // OpenCLIP one alone. FLUX and SD3 transformers have their own block names.
  if (has_prefix(names, "conditioner.embedders.1.")) return ModelKind{"Stable Diffusion XL", true};
  if (has_prefix(names, "conditioner.embedders.0.model.")) {
    return ModelKind{"Stable Diffusion XL refiner (image to image)", false};
  }
  if (has_prefix(names, "double_blocks.") || has_prefix(names, "model.diffusion_model.double_blocks.")) {
    return ModelKind{"FLUX", false};
  }
  if (has_prefix(names, "model.diffusion_model.joint_blocks.")) return ModelKind{"Stable Diffusion 3", false};
  if (has_prefix(names, "model.diffusion_model.input_blocks.")) return ModelKind{"Stable Diffusion 1.x/2.x", true};
  return std::nullopt;
}

std::string supported_kinds() {
  return "Pawtrait supports Stable Diffusion 1.x and 2.x (diffusers folders or single .safetensors files), Stable "
         "Diffusion XL (diffusers folders or single .safetensors files), FLUX.2 [klein] 4B distilled and base "
         "(diffusers "
         "folders) and its built-in model";
}

namespace {

std::optional<std::string> pipeline_class(const std::filesystem::path& folder) {
  const std::filesystem::path index = folder / "model_index.json";
  if (!std::filesystem::exists(index)) return std::nullopt;
  const nlohmann::json json = read_json_file(index);
  if (!json.is_object() || !json.contains("_class_name") || !json["_class_name"].is_string()) return std::nullopt;
  return json["_class_name"].get<std::string>();
}

std::vector<std::string> tensor_names(const std::filesystem::path& file) {
  if (file.extension() != ".safetensors") return {};
  MappedFile mapping(file);
  std::vector<std::string> names;
  for (const auto& t : tensors::parse_safetensors_header(mapping.bytes(), file.string()).tensors) {
    names.push_back(t.name);
  }
  return names;
}

}  // namespace

std::optional<ModelKind> kind_of_model(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) {
    const std::optional<std::string> class_name = pipeline_class(path);
    return class_name ? kind_of_pipeline(*class_name) : std::nullopt;
  }
  return std::filesystem::is_regular_file(path) ? kind_of_single_file(tensor_names(path)) : std::nullopt;
}

void refuse_unsupported(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) return refuse_unsupported_folder(path);
  if (std::filesystem::is_regular_file(path)) refuse_unsupported_single_file(tensor_names(path), path.string());
}

void refuse_unsupported_single_file(const std::vector<std::string>& names, const std::string& source) {
  const std::optional<ModelKind> kind = kind_of_single_file(names);
  if (kind && !kind->supported) {
    throw Error(source + " is a " + kind->name + " checkpoint (by its tensor names), which is not supported yet. " +
                supported_kinds() + ".");
  }
}

void refuse_other_than_sd(const std::filesystem::path& folder, const std::string& doing) {
  if (std::filesystem::is_regular_file(folder)) {
    const std::optional<ModelKind> kind = kind_of_single_file(tensor_names(folder));
    if (kind && kind->name != "Stable Diffusion 1.x/2.x") {
      throw Error(folder.string() + " is a " + kind->name + " checkpoint (by its tensor names); " + doing +
                  " it is not supported yet");
    }
    return;
  }
  refuse_unsupported_folder(folder);
  const std::optional<std::string> class_name = pipeline_class(folder);
  const std::optional<ModelKind> kind = class_name ? kind_of_pipeline(*class_name) : std::nullopt;
  if (kind && kind->name != "Stable Diffusion 1.x/2.x") {
    throw Error(folder.string() + " is a " + kind->name + " model (model_index.json: " + *class_name + "); " + doing +
                " it is not supported yet");
  }
}

void refuse_unsupported_folder(const std::filesystem::path& folder) {
  const std::optional<std::string> class_name = pipeline_class(folder);
  if (!class_name) return;
  const std::optional<ModelKind> kind = kind_of_pipeline(*class_name);
  if (kind && !kind->supported) {
    throw Error(folder.string() + " is a " + kind->name + " model (model_index.json: " + *class_name +
                "), which is not supported yet. " + supported_kinds() + ".");
  }
}

}  // namespace pawtrait::families
