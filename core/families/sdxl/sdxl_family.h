#pragma once

#include "families/model_family.h"

namespace pawtrait::families {

// Stable Diffusion XL base models: diffusers folders whose model_index.json names
// StableDiffusionXLPipeline. (Single-file SDXL checkpoints are refused by name for now.)
ModelFamily sdxl_family();

}  // namespace pawtrait::families
