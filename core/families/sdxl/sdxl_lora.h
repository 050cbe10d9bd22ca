#pragma once

#include <memory>
#include <string>

#include "families/sdxl/sdxl_model.h"
#include "models/lora_export.h"
#include "models/unet2d_condition_config.h"

namespace pawtrait::families {

// Merges a LoRA file of any layout (diffusers/PEFT, kohya with diffusers' or the original SGM
// module names, lora_te1_/lora_te2_) into the UNet and both text encoders; the weights come
// back when the result is destroyed. Throws pawtrait::Error, changing nothing, for a LoRA made
// for another architecture.
std::unique_ptr<AppliedLora> merge_sdxl_lora(StableDiffusionXL& model, const std::string& path, double strength);

// The kohya names sd-scripts writes for SDXL and A1111 reads: the UNet's SGM block names,
// lora_te1_ and lora_te2_.
models::KohyaNames sdxl_kohya_names(const models::UNet2DConditionConfig& unet);

}  // namespace pawtrait::families
