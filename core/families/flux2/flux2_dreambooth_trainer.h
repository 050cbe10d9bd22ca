#pragma once

#include "training/dreambooth.h"

namespace pawtrait::training {

// The LoRA targets of diffusers' train_dreambooth_lora_flux2_klein.py: the double blocks'
// image-stream attention and the single blocks' fused projections. Used when a request keeps
// the Stable Diffusion default targets.
extern const std::vector<std::string> kKleinLoraTargets;

// train_dreambooth (training/dreambooth.h) for FLUX.2 [klein], as diffusers'
// train_dreambooth_lora_flux2_klein.py trains it (best on the base model; the LoRA applies to
// the distilled one): LoRA on the transformer, each photo's latent the posterior's mode,
// patchified and normalised by the VAE's statistics, σ drawn from the training grid, the
// flow-matching target noise − x₀, the prompt embeddings (layers 9, 18, 27) cached and the text
// encoder released. Full fine-tuning and text-encoder training are refused.
TrainResult train_flux2_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks);

}  // namespace pawtrait::training
