#pragma once

#include <string>

#include "families/sdxl/sdxl_configs.h"

namespace pawtrait::tensors {
class SafetensorsFile;
}

namespace pawtrait::families {

// Single-file SDXL checkpoints in Stability's SGM layout (what A1111, ComfyUI and community
// fine-tunes ship): the UNet under "model.diffusion_model.", the VAE under
// "first_stage_model.", CLIP ViT-L in transformers' names under the first embedder and
// OpenCLIP bigG in its own names under the second.
inline constexpr const char* kSgmTextEncoderPrefix = "conditioner.embedders.0.transformer.";
inline constexpr const char* kSgmTextEncoder2Prefix = "conditioner.embedders.1.model.";

// The configs of a single file that carries none, told from its tensor shapes: SDXL 1.0
// base's (fine-tunes keep its shapes), with v-prediction and zero terminal SNR where the file
// carries the "v_pred" / "ztsnr" marker tensors as ComfyUI reads them. Tokenizers are left to
// the caller. Throws pawtrait::Error naming what the file is for an inpainting or EDM
// (Playground) checkpoint, and what differs, with the --model-config advice, for other shapes.
SdxlConfigs detect_sdxl_single_file(const tensors::SafetensorsFile& file);

}  // namespace pawtrait::families
