#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "families/diffusion_model.h"
#include "families/model_family.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text.h"
#include "models/clip_tokenizer.h"
#include "models/unet2d_condition.h"

namespace pawtrait::families {

// The modules of one Stable Diffusion XL base model (StableDiffusionXLPipeline's components).
struct StableDiffusionXL {
  std::filesystem::path source;
  models::UNet2DConditionModel unet{nullptr};
  models::AutoencoderKL vae{nullptr};
  models::CLIPTextModel text_encoder{nullptr};    // CLIP ViT-L
  models::CLIPTextModel text_encoder_2{nullptr};  // OpenCLIP bigG, with its projection
  std::shared_ptr<models::ClipTokenizer> tokenizer, tokenizer_2;
  schedulers::SchedulerConfig scheduler;
  bool force_zeros_for_empty_prompt = true;  // model_index.json's: no negative prompt → zeros
};

// Loads a diffusers StableDiffusionXLPipeline folder (fp32 or a variant such as "fp16") or a
// single-file checkpoint in the SGM layout (its configs from options.model_config, else
// SDXL 1.0 base's, with the built-in CLIP tokenizer), strictly; with float16 weights and the
// VAE config's force_upcast, the VAE is kept in float32 (SDXL's VAE overflows in float16:
// black or NaN pictures).
StableDiffusionXL load_sdxl(const std::filesystem::path& folder, const LoadOptions& options);

// SDXL behind the family interface: both text encoders' penultimate states concatenated
// ("context") and the projected pooled vector ("pooled"); the UNet's size ids from the
// picture size (original = target = the size drawn, crop (0, 0), as the pipeline's defaults).
class StableDiffusionXLModel : public DiffusionModel {
 public:
  // What a request leaves open: Euler, the scheduler SDXL's pipeline ships with, 30 steps.
  static constexpr const char* kSampler = "euler";
  static constexpr std::int64_t kSteps = 30;

  explicit StableDiffusionXLModel(StableDiffusionXL model);

  std::string family() const override { return "Stable Diffusion XL"; }
  const LatentFormat& latent_format() const override { return latent_format_; }
  const schedulers::NoiseProcess& noise_process() const override { return noise_process_; }
  GenerateDefaults defaults() const override;
  at::TensorOptions options() const override;
  bool prompted() const override { return true; }
  Conditioning encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) override;
  Conditioning unconditional(const PromptOptions& options, const LogSink& log) override;
  // "time_ids" (1, 6): original size, crop top-left, target size.
  void condition_on_size(Conditioning& conditioning, const SizeConditioning& sizes, std::int64_t height,
                         std::int64_t width) const override;
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) override;
  at::Tensor decode(const at::Tensor& latents) override;
  std::unique_ptr<AppliedLora> apply_lora(const std::string& path, double strength) override;

  StableDiffusionXL& modules() { return model_; }

 private:
  StableDiffusionXL model_;
  LatentFormat latent_format_;
  schedulers::DiscreteNoiseProcess noise_process_;
};

}  // namespace pawtrait::families
