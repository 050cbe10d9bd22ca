#include "models/component_loader.h"

#include "common/error.h"
#include "models/weight_init.h"
#include "tensors/state_dict_loader.h"
#include "tensors/weight_files.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

fs::path config_of(const fs::path& dir) {
  const fs::path config = dir / "config.json";
  if (!fs::exists(config)) {
    throw Error(dir.string() + " has no config.json; is it a component folder of a diffusers model?");
  }
  return config;
}

void fill(torch::nn::Module& module, const fs::path& dir, const ComponentLoadOptions& options) {
  tensors::LoadOptions load;
  load.dtype = options.dtype;
  load.device = options.device;
  const auto files = tensors::find_weight_files(dir, options.variant);
  try {
    tensors::LoadReport report = tensors::load_state_dict(module, files, load);
    log_to(options.log, LogLevel::Info,
           dir.filename().string() + ": loaded " + std::to_string(report.loaded) + " tensors from " +
               std::to_string(files.size()) + " file(s) as " + c10::toString(options.dtype) + " on " +
               options.device.str());
    if (!report.unexpected.empty())
      log_to(options.log, LogLevel::Info, dir.filename().string() + ": " + report.describe());
  } catch (const Error& e) {
    throw Error(dir.filename().string() + ": " + e.what());
  }
}

}  // namespace

// Every weight comes from the files (the load is strict): none is initialised first.
UNet2DConditionModel load_unet(const fs::path& dir, const ComponentLoadOptions& options) {
  const auto config = UNet2DConditionConfig::load(config_of(dir));
  UNet2DConditionModel unet{nullptr};
  {
    SkipWeightInit loaded_next;
    unet = UNet2DConditionModel(config);
  }
  fill(*unet, dir, options);
  unet->eval();
  return unet;
}

AutoencoderKL load_vae(const fs::path& dir, const ComponentLoadOptions& options) {
  const auto config = AutoencoderKLConfig::load(config_of(dir));
  AutoencoderKL vae{nullptr};
  {
    SkipWeightInit loaded_next;
    vae = AutoencoderKL(config);
  }
  fill(*vae, dir, options);
  vae->eval();
  return vae;
}

CLIPTextModel load_text_encoder(const fs::path& dir, const ComponentLoadOptions& options) {
  const auto config = CLIPTextConfig::load(config_of(dir));
  CLIPTextModel text{nullptr};
  {
    SkipWeightInit loaded_next;
    text = CLIPTextModel(config);
  }
  fill(*text, dir, options);
  text->eval();
  return text;
}

}  // namespace pawtrait::models
