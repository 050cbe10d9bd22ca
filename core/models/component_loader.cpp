#include "models/component_loader.h"

#include "common/error.h"
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

UNet2DConditionModel load_unet(const fs::path& dir, const ComponentLoadOptions& options) {
  UNet2DConditionModel unet(UNet2DConditionConfig::load(config_of(dir)));
  fill(*unet, dir, options);
  unet->eval();
  return unet;
}

AutoencoderKL load_vae(const fs::path& dir, const ComponentLoadOptions& options) {
  AutoencoderKL vae(AutoencoderKLConfig::load(config_of(dir)));
  fill(*vae, dir, options);
  vae->eval();
  return vae;
}

CLIPTextModel load_text_encoder(const fs::path& dir, const ComponentLoadOptions& options) {
  CLIPTextModel text(CLIPTextConfig::load(config_of(dir)));
  fill(*text, dir, options);
  text->eval();
  return text;
}

}  // namespace pawtrait::models
