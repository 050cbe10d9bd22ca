#pragma once

#include "families/model_family.h"

namespace pawtrait::families {

// Stable Diffusion 1.x and 2.x: diffusers folders (StableDiffusionPipeline, or no
// model_index.json) and single .safetensors checkpoints in the LDM layout.
ModelFamily stable_diffusion_family();

}  // namespace pawtrait::families
