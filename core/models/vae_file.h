#pragma once

#include <filesystem>

#include "models/autoencoder_kl.h"
#include "models/component_loader.h"

namespace pawtrait::models {

// A VAE given apart from the model (--vae), as people download them: a diffusers vae/ folder
// (its own config.json, e.g. madebyollin/sdxl-vae-fp16-fix), or one .safetensors file in
// diffusers' names or the original LDM names (with or without "first_stage_model.", as A1111
// and ComfyUI keep VAE files). A bare file takes `model_vae` (the model's own VAE config) for
// its shape. Loaded strictly; throws pawtrait::Error naming the file and what does not fit.
AutoencoderKL load_vae_file(const std::filesystem::path& path, const AutoencoderKLConfig& model_vae,
                            const ComponentLoadOptions& options);

// The config the VAE of `path` has: a folder's config.json, else `model_vae`.
AutoencoderKLConfig vae_file_config(const std::filesystem::path& path, const AutoencoderKLConfig& model_vae);

}  // namespace pawtrait::models
