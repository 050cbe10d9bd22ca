#include "models/vae_file.h"

#include "common/error.h"
#include "models/checkpoint_keys.h"
#include "models/weight_init.h"
#include "tensors/safetensors_reader.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

bool any_starts_with(const tensors::SafetensorsFile& file, const std::string& prefix) {
  for (const auto& entry : file.entries()) {
    if (entry.name.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

AutoencoderKLConfig vae_file_config(const fs::path& path, const AutoencoderKLConfig& model_vae) {
  std::error_code error;
  if (!fs::is_directory(path, error)) return model_vae;
  if (!fs::exists(path / "config.json")) {
    throw Error(path.string() + " has no config.json; give a diffusers vae/ folder or a single .safetensors VAE file");
  }
  return AutoencoderKLConfig::load(path / "config.json");
}

AutoencoderKL load_vae_file(const fs::path& path, const AutoencoderKLConfig& model_vae,
                            const ComponentLoadOptions& options) {
  std::error_code error;
  if (!fs::exists(path, error)) throw Error("the VAE " + path.string() + " does not exist");
  if (fs::is_directory(path)) return load_vae(path, options);
  if (path.extension() != ".safetensors") {
    throw Error("the VAE " + path.string() +
                " is not a .safetensors file; Pawtrait does not open pickle files (.pt, .ckpt), which can run code. "
                "Most VAEs are published as .safetensors too");
  }
  std::vector<tensors::SafetensorsFile> file;
  file.push_back(tensors::SafetensorsFile::open(path));
  const tensors::SafetensorsFile& f = file.front();
  CheckpointPart part{"VAE " + path.filename().string(), "", {}};
  const std::size_t levels = model_vae.block_out_channels.size();
  auto ldm = [levels](const std::string& name) { return ldm_vae_source(name, levels); };
  if (any_starts_with(f, "encoder.down_blocks.") || any_starts_with(f, "decoder.up_blocks.")) {
    // diffusers' own names: nothing to map.
  } else if (any_starts_with(f, "first_stage_model.")) {
    part.prefix = "first_stage_model.";
    part.source_for = ldm;
  } else if (any_starts_with(f, "encoder.down.") || any_starts_with(f, "decoder.up.")) {
    part.source_for = ldm;
  } else {
    throw Error("the VAE " + path.string() +
                " has neither diffusers' (encoder.down_blocks.…) nor the original (encoder.down.…) VAE tensor names; "
                "is it a VAE file?");
  }
  SkipWeightInit loaded_next;  // every weight comes from the file (strict load)
  AutoencoderKL vae(model_vae);
  fill_from_checkpoint(*vae, file, part, options);
  return vae;
}

}  // namespace pawtrait::models
