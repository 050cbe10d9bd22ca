#pragma once

#include "families/model_family.h"

namespace pawtrait::families {

// Stable Diffusion XL base models: diffusers folders whose model_index.json names
// StableDiffusionXLPipeline, and single files in the SGM layout.
ModelFamily sdxl_family();

}  // namespace pawtrait::families
