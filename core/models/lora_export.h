#pragma once

#include <torch/nn/module.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/lora.h"

namespace pawtrait::models {

// The adapters `model` carries (every LoraLinear with an adapter), as plain layers: module
// paths in diffusers naming, alpha = scaling · rank, tensors detached float32 copies on the CPU.
std::vector<LoraLayer> collect_lora_layers(torch::nn::Module& model, const std::string& component);

// How a kohya file names a model's modules. Stable Diffusion 1.x/2.x: diffusers' module paths,
// one text encoder ("lora_te_"). SDXL, as sd-scripts writes it and A1111 reads it: the UNet's
// original (SGM) block names and two text encoders ("lora_te1_", "lora_te2_").
struct KohyaNames {
  std::function<std::string(const std::string& unet_module)> unet;  // unset: diffusers' paths
  bool two_text_encoders = false;
};

// The kohya/A1111 layout that Automatic1111 and ComfyUI read:
//   lora_unet_<module, dots as underscores>.lora_down.weight / .lora_up.weight / .alpha
//   lora_te_<module>... for the text encoder (lora_te1_/lora_te2_ for SDXL's two).
// `metadata` is written with sd-scripts' ss_network_module/_dim/_alpha added; those are read off
// the layers, so they replace the caller's. Written atomically; throws pawtrait::Error for an
// empty list, a component other than "unet" / "text_encoder" / ("text_encoder_2" with two
// text encoders), or a UNet module the naming has no name for.
void save_lora_kohya(const std::filesystem::path& file, const std::vector<LoraLayer>& layers,
                     const std::map<std::string, std::string>& metadata = {}, const KohyaNames& names = {});

// The diffusers/PEFT layout (what diffusers' save_lora_weights writes):
//   unet.<module>.lora_A.weight / .lora_B.weight, text_encoder(_2).<module>..., transformer.<module>...
//   (FLUX.2); the file has no
//   alpha, so alpha / rank is folded into lora_B. `metadata` gets "format": "pt" unless it has
//   one, as diffusers' files do. Written atomically; throws as save_lora_kohya does.
void save_lora_peft(const std::filesystem::path& file, const std::vector<LoraLayer>& layers,
                    const std::map<std::string, std::string>& metadata = {});

}  // namespace pawtrait::models
