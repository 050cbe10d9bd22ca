#pragma once

#include "families/model_family.h"

namespace pawtrait::families {

// FLUX.2 [klein]: diffusers Flux2KleinPipeline folders, distilled (4 steps, no guidance) and
// base (about 50 steps, classifier-free guidance).
ModelFamily flux2_klein_family();

}  // namespace pawtrait::families
