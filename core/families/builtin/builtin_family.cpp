#include "families/builtin/builtin_family.h"

#include "common/error.h"
#include "families/builtin/builtin_model.h"
#include "families/builtin/pixel_unet_config.h"
#include "families/model_kinds.h"

namespace pawtrait::families {
namespace {

// "builtin:RUN_DIR" → RUN_DIR; plain "builtin" names the untrained model, which has no weights.
std::filesystem::path run_dir(const std::string& model) {
  if (!model.starts_with(kBuiltinPrefix)) {
    throw Error("say which trained built-in model: builtin:RUN_DIR (the folder training wrote)");
  }
  return model.substr(kBuiltinPrefix.size());
}

}  // namespace

ModelFamily builtin_family() {
  ModelFamily f;
  f.name = "built-in";
  f.cpu_only = true;
  f.claims = [](const std::string& model) { return model == "builtin" || model.starts_with(kBuiltinPrefix); };
  f.describe = [](const std::string& model, const std::optional<std::filesystem::path>&) {
    const std::int64_t size = model == "builtin" ? models::PixelUNetConfig{}.resolution
                                                 : training::load_pixel_model(run_dir(model)).config.resolution;
    FamilyDescription d{"built-in", "epsilon", size, {{size, size}}};
    d.sampler = BuiltinModel::kSampler;
    d.steps = BuiltinModel::kSteps;
    return d;
  };
  f.load = [](const std::string& model, const LoadOptions&) -> std::unique_ptr<DiffusionModel> {
    return std::make_unique<BuiltinModel>(training::load_pixel_model(run_dir(model)));
  };
  // The weights, not the run folder: its previews and samples change, the model does not.
  f.location = [](const std::string& model) {
    if (model == "builtin") return std::filesystem::path();
    const std::filesystem::path run = run_dir(model);
    return std::filesystem::is_directory(run) ? run / "model.safetensors" : run;
  };
  return f;
}

}  // namespace pawtrait::families
