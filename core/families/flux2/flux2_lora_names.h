#pragma once

#include "models/lora.h"

namespace pawtrait::families {

// FLUX.2 LoRA files come in three namings: diffusers' (transformer.transformer_blocks.0.attn.to_q,
// what Pawtrait and the diffusers scripts write), Black Forest Labs' original module names
// behind "diffusion_model." (ComfyUI, ai-toolkit; double_blocks.0.img_attn.qkv), and kohya's
// underscore spelling of the original names (lora_unet_double_blocks_0_img_attn_qkv, with
// α). This gives every layer its diffusers module on the "transformer" component, as
// Flux2LoraLoaderMixin.lora_state_dict converts them: an original fused q/k/v layer becomes
// three, sharing its down matrix, each with its third of the up matrix (the same ΔW rows).
// Throws pawtrait::Error for a layer that is for a text encoder (klein's LoRAs change only
// the transformer).
models::LoraFile klein_lora_in_diffusers_names(const models::LoraFile& lora);

}  // namespace pawtrait::families
