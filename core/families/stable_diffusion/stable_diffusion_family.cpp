#include "families/stable_diffusion/stable_diffusion_family.h"

#include "families/model_kinds.h"
#include "families/stable_diffusion/dreambooth_trainer.h"
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
    FamilyDescription d{a.family, a.prediction_type, a.image_size, {{a.image_size, a.image_size}}};
    // SD 1.x/2.x's usual squares, and the 2:3 portrait and landscape at 512 × 768.
    for (const std::int64_t side : {512, 576, 640, 768}) {
      if (side != a.image_size) d.sizes.emplace_back(side, side);
    }
    d.sizes.emplace_back(512, 768);
    d.sizes.emplace_back(768, 512);
    d.guess = a.guess;
    d.sampler = StableDiffusionModel::kSampler;
    d.steps = StableDiffusionModel::kSteps;
    return d;
  };
  f.load = [](const std::string& model, const LoadOptions& options) -> std::unique_ptr<DiffusionModel> {
    return StableDiffusionModel::load(model, options);
  };
  f.location = [](const std::string& model) { return std::filesystem::path(model); };
  f.train = training::train_sd_dreambooth;
  return f;
}

}  // namespace pawtrait::families
