#pragma once

#include <string>

#include "models/clip_text.h"
#include "models/unet2d_condition.h"
#include "tensors/state_dict_loader.h"

// Name conversion between diffusers' module paths and the original (CompVis/LDM, Stability)
// key layout of single-file Stable Diffusion checkpoints. Pure functions of a name and the
// architecture: each returns where a diffusers tensor lives in such a file, without its
// component prefix ("model.diffusion_model.", "first_stage_model.", "cond_stage_model.").
namespace pawtrait::models {

// The prefixes of the components inside a single-file checkpoint.
inline constexpr const char* kLdmUnetPrefix = "model.diffusion_model.";
inline constexpr const char* kLdmVaePrefix = "first_stage_model.";
inline constexpr const char* kLdmClipPrefix = "cond_stage_model.transformer.";  // SD 1.x (transformers' CLIP)
inline constexpr const char* kLdmOpenClipPrefix = "cond_stage_model.model.";    // SD 2.x (OpenCLIP)

// "down_blocks.1.attentions.0.proj_in.weight" → "input_blocks.4.1.proj_in.weight" (SD 1.5);
// SDXL's add_embedding is SGM's label_emb.0.
tensors::TensorSource ldm_unet_source(const std::string& name, const UNet2DConditionConfig& config);

// The original name of a UNet module path ("down_blocks.1.attentions.0.proj_in" →
// "input_blocks.4.1.proj_in"), as kohya's LoRA files for SDXL spell it; "" when it has none.
std::string ldm_unet_module(const std::string& module_path, const UNet2DConditionConfig& config);

// "decoder.up_blocks.0.resnets.0.conv1.weight" → "decoder.up.3.block.0.conv1.weight" (SD).
// `levels` is the number of VAE blocks (len(block_out_channels)).
tensors::TensorSource ldm_vae_source(const std::string& name, std::size_t levels);

// SD 1.x: transformers' own names, with or without the leading "text_model." (older
// checkpoints drop it).
tensors::TensorSource ldm_clip_source(const std::string& name, bool has_text_model_prefix);

// SD 2.x and SDXL's second encoder: OpenCLIP's names; q, k and v are thirds of
// attn.in_proj_weight/bias (split by the hidden size), the projection is transposed.
tensors::TensorSource open_clip_source(const std::string& name, const CLIPTextConfig& config);

}  // namespace pawtrait::models
