#pragma once

#include <memory>
#include <string>

#include "families/diffusion_model.h"
#include "families/model_family.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "models/clip_tokenizer.h"

namespace pawtrait::families {

// Stable Diffusion 1.x/2.x behind the family interface: CLIP text encoder → "context",
// UNet2DConditionModel → ε or v, AutoencoderKL with the config's scaling factor.
class StableDiffusionModel : public DiffusionModel {
 public:
  // What a request leaves open: DPM++ 2M Karras, which is clean in 25 steps.
  static constexpr const char* kSampler = "dpmpp_2m_karras";
  static constexpr std::int64_t kSteps = 25;

  // Over a model the caller keeps and may change (the trainer trains it in place).
  StableDiffusionModel(models::StableDiffusion& model, models::ClipTokenizer tokenizer);
  // Loads a diffusers folder or a single file and owns it. Throws pawtrait::Error for a model
  // without a tokenizer (a single file needs a model config folder that has one).
  static std::unique_ptr<StableDiffusionModel> load(const std::string& model, const LoadOptions& options);

  std::string family() const override { return model_.architecture.family; }
  const LatentFormat& latent_format() const override { return latent_format_; }
  const schedulers::NoiseProcess& noise_process() const override { return noise_process_; }
  GenerateDefaults defaults() const override;
  at::TensorOptions options() const override;
  bool prompted() const override { return true; }
  Conditioning encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) override;
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) override;
  at::Tensor decode(const at::Tensor& latents) override;
  std::unique_ptr<AppliedLora> apply_lora(const std::string& path, double strength) override;

  models::StableDiffusion& modules() { return model_; }

 private:
  StableDiffusionModel(std::unique_ptr<models::StableDiffusion> owned, models::ClipTokenizer tokenizer);

  std::unique_ptr<models::StableDiffusion> owned_;
  models::StableDiffusion& model_;
  models::ClipTokenizer tokenizer_;
  LatentFormat latent_format_;
  schedulers::DiscreteNoiseProcess noise_process_;
};

}  // namespace pawtrait::families
