#include "families/sdxl/sdxl_family.h"

#include "common/error.h"
#include "families/model_kinds.h"
#include "families/sdxl/sdxl_model.h"
#include "models/autoencoder_kl_config.h"
#include "models/unet2d_condition_config.h"
#include "schedulers/scheduler_config.h"

namespace pawtrait::families {

ModelFamily sdxl_family() {
  namespace fs = std::filesystem;
  ModelFamily f;
  f.name = "Stable Diffusion XL";
  f.claims = [](const std::string& model) {
    std::error_code error;
    if (!fs::is_directory(model, error)) return false;
    const std::optional<ModelKind> kind = kind_of_model(model);
    return kind && kind->name == "Stable Diffusion XL" && kind->supported;
  };
  f.describe = [](const std::string& model, const std::optional<fs::path>&) {
    const fs::path folder = model;
    if (!fs::exists(folder / "unet" / "config.json") || !fs::exists(folder / "vae" / "config.json")) {
      throw Error(model + " has no unet/config.json or vae/config.json; is the download complete?");
    }
    const auto unet = models::UNet2DConditionConfig::load(folder / "unet" / "config.json");
    const auto vae = models::AutoencoderKLConfig::load(folder / "vae" / "config.json");
    std::string prediction = "epsilon";
    if (fs::exists(folder / "scheduler" / "scheduler_config.json")) {
      prediction = schedulers::SchedulerConfig::load(folder / "scheduler" / "scheduler_config.json")
                       .prediction_type.value_or("epsilon");
    }
    const std::int64_t side = unet.sample_size * vae.downscale_factor();
    FamilyDescription d{"Stable Diffusion XL", prediction, side, {{side, side}}};
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
  return f;
}

}  // namespace pawtrait::families
