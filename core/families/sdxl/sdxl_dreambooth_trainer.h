#pragma once

#include "training/dreambooth.h"

namespace pawtrait::training {

// train_dreambooth (training/dreambooth.h) for SDXL, as diffusers' train_dreambooth_lora_sdxl.py
// trains it: LoRA on the UNet (and optionally both text encoders), each photo's size ids from
// its size before resizing and its crop corner, both encoders' embeddings and the pooled vector
// cached and the encoders released when they are not trained. Full fine-tuning is refused.
TrainResult train_sdxl_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks);

}  // namespace pawtrait::training
