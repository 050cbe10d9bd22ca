#include "families/sdxl/sdxl_family.h"

#include "common/error.h"
#include "families/model_kinds.h"
#include "families/sdxl/sdxl_configs.h"
#include "families/sdxl/sdxl_dreambooth_trainer.h"
#include "families/sdxl/sdxl_model.h"
#include "families/sdxl/sdxl_single_file.h"
#include "tensors/safetensors_reader.h"

namespace pawtrait::families {

ModelFamily sdxl_family() {
  namespace fs = std::filesystem;
  ModelFamily f;
  f.name = "Stable Diffusion XL";
  f.claims = [](const std::string& model) {
    std::error_code error;
    if (model.starts_with("builtin") || !fs::exists(model, error)) return false;
    const std::optional<ModelKind> kind = kind_of_model(model);
    return kind && kind->name == "Stable Diffusion XL" && kind->supported;
  };
  f.describe = [](const std::string& model, const std::optional<fs::path>& config) {
    SdxlConfigs c;
    std::error_code error;
    if (fs::is_directory(model, error)) {
      c = read_sdxl_configs(model);
    } else if (config) {
      c = read_sdxl_configs(*config);
    } else {
      c = detect_sdxl_single_file(tensors::SafetensorsFile::open(model));
    }
    const std::int64_t side = c.unet.sample_size * c.vae.downscale_factor();
    FamilyDescription d{"Stable Diffusion XL", c.scheduler.prediction_type.value_or("epsilon"), side, {{side, side}}};
    d.sampler = StableDiffusionXLModel::kSampler;
    d.steps = StableDiffusionXLModel::kSteps;
    d.size_conditioned = true;
    if (side == 1024) {  // the aspect ratios SDXL was trained on, at about a megapixel
      for (const auto& [w, h] : std::vector<std::pair<std::int64_t, std::int64_t>>{
               {896, 1152}, {832, 1216}, {768, 1344}, {1152, 896}, {1216, 832}, {1344, 768}}) {
        d.sizes.emplace_back(w, h);
      }
    }
    return d;
  };
  f.load = [](const std::string& model, const LoadOptions& options) -> std::unique_ptr<DiffusionModel> {
    return std::make_unique<StableDiffusionXLModel>(load_sdxl(model, options));
  };
  f.location = [](const std::string& model) { return fs::path(model); };
  f.train = training::train_sdxl_dreambooth;
  return f;
}

}  // namespace pawtrait::families
