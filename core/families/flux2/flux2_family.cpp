#include "families/flux2/flux2_family.h"

#include "families/flux2/flux2_dreambooth_trainer.h"
#include "families/flux2/flux2_model.h"
#include "families/model_kinds.h"

namespace pawtrait::families {

ModelFamily flux2_klein_family() {
  namespace fs = std::filesystem;
  ModelFamily f;
  f.name = "FLUX.2 [klein]";
  f.claims = [](const std::string& model) {
    std::error_code error;
    if (!fs::is_directory(model, error)) return false;  // klein comes as a diffusers folder
    const std::optional<ModelKind> kind = kind_of_model(model);
    return kind && kind->name == "FLUX.2 [klein]" && kind->supported;
  };
  f.describe = [](const std::string& model, const std::optional<fs::path>& /*config*/) {
    const Flux2KleinConfigs c = read_flux2_klein_configs(model);
    const std::int64_t side = 128 * c.vae.downscale_factor();
    FamilyDescription d{
        c.is_distilled ? "FLUX.2 [klein] distilled" : "FLUX.2 [klein] base", "flow", side, {{side, side}}};
    d.sampler = Flux2KleinModel::kSampler;
    d.steps = c.is_distilled ? Flux2KleinModel::kDistilledSteps : Flux2KleinModel::kBaseSteps;
    d.guided = !c.is_distilled;
    d.guidance = c.is_distilled ? 1.0 : Flux2KleinModel::kBaseGuidance;
    d.vae_replaceable = false;    // its VAE carries the latent statistics the transformer was trained on
    d.clip_prompts = false;       // Qwen3's tokenizer.json normalises prompts itself
    d.checkpoints_on_gpu = true;  // as train_flux2_dreambooth does
    if (side == 1024) {           // about a megapixel in multiples of 16, as the klein guides use
      for (const auto& [w, h] : std::vector<std::pair<std::int64_t, std::int64_t>>{
               {896, 1152}, {832, 1216}, {768, 1344}, {1152, 896}, {1216, 832}, {1344, 768}}) {
        d.sizes.emplace_back(w, h);
      }
    }
    return d;
  };
  f.load = [](const std::string& model, const LoadOptions& options) -> std::unique_ptr<DiffusionModel> {
    return std::make_unique<Flux2KleinModel>(load_flux2_klein(model, options));
  };
  f.location = [](const std::string& model) { return fs::path(model); };
  f.train = training::train_flux2_dreambooth;
  return f;
}

}  // namespace pawtrait::families
