#pragma once

#include <filesystem>
#include <memory>

#include "families/builtin/pixel_model.h"
#include "families/diffusion_model.h"

namespace pawtrait::families {

// The small built-in pixel-space model behind the family interface: unconditional, no VAE
// (the sampler works on the 64×64 picture itself), DDPM's linear schedule with x̂₀ clipping,
// the CPU in float32.
class BuiltinModel : public DiffusionModel {
 public:
  // DDPM's own ancestral sampler is what it samples best with; 100 steps are enough at 64×64.
  static constexpr const char* kSampler = "ddpm";
  static constexpr std::int64_t kSteps = 100;

  explicit BuiltinModel(training::PixelModel model);

  std::string family() const override { return "built-in"; }
  const LatentFormat& latent_format() const override { return latent_format_; }
  const schedulers::NoiseProcess& noise_process() const override { return noise_process_; }
  GenerateDefaults defaults() const override;
  at::TensorOptions options() const override;
  bool prompted() const override { return false; }
  Conditioning encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) override;
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) override;
  at::Tensor decode(const at::Tensor& latents) override { return latents; }
  std::unique_ptr<AppliedLora> apply_lora(const std::string& path, double strength) override;
  // As it was first shipped: step noise from a second generator per image (seed + 1000003),
  // which keeps its pictures as they were.
  std::optional<std::uint64_t> step_noise_seed_offset() const override { return 1000003; }

 private:
  training::PixelModel model_;
  LatentFormat latent_format_;
  schedulers::DiscreteNoiseProcess noise_process_{schedulers::SchedulerConfig{}};  // DDPM's defaults
};

}  // namespace pawtrait::families
