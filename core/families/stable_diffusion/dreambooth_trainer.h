#pragma once

#include "training/dreambooth.h"

namespace pawtrait::training {

// train_dreambooth (training/dreambooth.h) for Stable Diffusion 1.x/2.x: LoRA on the UNet
// (and optionally the text encoder) or the whole UNet ("full": a diffusers folder).
TrainResult train_sd_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks);

}  // namespace pawtrait::training
