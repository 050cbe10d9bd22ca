#include "families/stable_diffusion/stable_diffusion_family.h"

#include "families/model_kinds.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "families/stable_diffusion/stable_diffusion_model.h"

namespace pawtrait::families {

ModelFamily stable_diffusion_family() {
  ModelFamily f;
  f.name = "Stable Diffusion 1.x/2.x";
  f.claims = [name = f.name](const std::string& model) {
    std::error_code error;
    if (model.starts_with("builtin") || !std::filesystem::exists(model, error)) return false;
    // A folder or file whose kind is not told is left to the configs (a custom pipeline).
    const std::optional<ModelKind> kind = kind_of_model(model);
    return !kind || kind->name == name;
  };
  f.describe = [](const std::string& model, const std::optional<std::filesystem::path>& config) {
    const models::Architecture a = models::detect_architecture(model, config);
    return FamilyDescription{a.family, a.prediction_type, a.image_size};
  };
  f.load = [](const std::string& model, const LoadOptions& options) -> std::unique_ptr<DiffusionModel> {
    return StableDiffusionModel::load(model, options);
  };
  f.location = [](const std::string& model) { return std::filesystem::path(model); };
  return f;
}

}  // namespace pawtrait::families
