#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/log.h"
#include "models/autoencoder_kl_config.h"
#include "models/clip_text_config.h"
#include "models/clip_tokenizer.h"
#include "models/unet2d_condition_config.h"
#include "schedulers/scheduler_config.h"

namespace pawtrait::families {

// Everything of an SDXL base model that is not a weight: its components' configs, its
// tokenizers and model_index.json's force_zeros_for_empty_prompt.
struct SdxlConfigs {
  models::UNet2DConditionConfig unet;
  models::AutoencoderKLConfig vae;
  models::CLIPTextConfig text_encoder;    // CLIP ViT-L
  models::CLIPTextConfig text_encoder_2;  // OpenCLIP bigG, with its projection
  schedulers::SchedulerConfig scheduler;
  std::shared_ptr<models::ClipTokenizer> tokenizer, tokenizer_2;
  bool force_zeros_for_empty_prompt = true;
};

// Reads a diffusers StableDiffusionXLPipeline folder's configs and tokenizers (no weight) and
// checks that they fit together. Throws pawtrait::Error naming the file for anything missing,
// malformed or contradictory.
SdxlConfigs read_sdxl_configs(const std::filesystem::path& folder, const LogSink& log = {});

// Throws pawtrait::Error, naming `source`, when the configs do not describe one SDXL model
// (text_time conditioning, a projected second encoder, widths that agree).
void check_sdxl_configs(const SdxlConfigs& configs, const std::string& source);

// stabilityai/stable-diffusion-xl-base-1.0's configs, for single files that carry none
// (tokenizers left empty: the caller supplies them).
SdxlConfigs sdxl_base_configs();

}  // namespace pawtrait::families
