#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "families/diffusion_model.h"
#include "families/flux2/flux2_transformer.h"
#include "families/model_family.h"
#include "models/autoencoder_kl.h"
#include "models/module_placement.h"
#include "models/qwen3_text.h"
#include "models/tokenizer_json.h"
#include "schedulers/flow_match_sigmas.h"

namespace pawtrait::families {

// The modules of one FLUX.2 [klein] model (Flux2KleinPipeline's components).
struct Flux2Klein {
  std::filesystem::path source;
  // Where the transformer computes. On a GPU its weights are loaded on the CPU (views of the
  // file) and go to the GPU for the first step: the text encoder runs before, and a 12 GB
  // card does not hold both (see Flux2KleinModel::park_transformer).
  c10::Device device{c10::kCPU};
  Flux2Transformer2DModel transformer{nullptr};
  models::AutoencoderKL vae{nullptr};
  // Loaded when a prompt is first encoded and, on a GPU, released again before the
  // transformer runs (Qwen3-4B is 8 GB in bf16): see Flux2KleinModel::finished_encoding.
  models::Qwen3TextModel text_encoder{nullptr};
  std::shared_ptr<models::TokenizerJson> tokenizer;
  schedulers::FlowShift shift;
  // model_index.json's: the 4-step distilled model generates without guidance; the base
  // model with classifier-free guidance.
  bool is_distilled = false;
  std::vector<std::int64_t> text_encoder_layers;
  models::ComponentLoadOptions text_encoder_options;
};

// The configs of a klein folder read and checked against each other, without weights: what
// `pawtrait-cli info` shows. Throws pawtrait::Error naming the file and field.
struct Flux2KleinConfigs {
  Flux2TransformerConfig transformer;
  models::AutoencoderKLConfig vae;
  models::Qwen3Config text_encoder;
  schedulers::FlowShift shift;
  bool is_distilled = false;
  std::vector<std::int64_t> text_encoder_layers;
};
Flux2KleinConfigs read_flux2_klein_configs(const std::filesystem::path& folder,
                                           const std::vector<std::int64_t>& text_encoder_layers = {});

// Loads a diffusers Flux2KleinPipeline folder (sharded safetensors, memory-mapped), strictly;
// the text encoder only as deep as the deepest layer read.
Flux2Klein load_flux2_klein(const std::filesystem::path& folder, const LoadOptions& options);

// FLUX.2 [klein] behind the family interface. The sampler works on the pipeline's `latents=`
// space: patchified, BN-normalised (b, 128, H/16, W/16) -- so initial noise, --init-latents
// and the σ schedule's μ (from the h·w image tokens) are the reference's -- and predict packs
// it into tokens for the transformer and back. "context" (1, 512, layers·hidden) and
// "text_ids" (1, 512, 4) are the conditioning.
class Flux2KleinModel : public DiffusionModel {
 public:
  static constexpr const char* kSampler = "euler";
  static constexpr std::int64_t kDistilledSteps = 4;  // what the distilled model was made for
  static constexpr std::int64_t kBaseSteps = 50;      // Flux2KleinPipeline's default
  static constexpr double kBaseGuidance = 4.0;        // Flux2KleinPipeline's guidance_scale default

  explicit Flux2KleinModel(Flux2Klein model);

  std::string family() const override;
  const LatentFormat& latent_format() const override { return latent_format_; }
  const schedulers::NoiseProcess& noise_process() const override { return *noise_process_; }
  GenerateDefaults defaults() const override;
  at::TensorOptions options() const override;
  bool prompted() const override { return true; }
  bool uses_guidance() const override { return !model_.is_distilled; }
  Conditioning encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) override;
  void finished_encoding() override;
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) override;
  at::Tensor decode(const at::Tensor& latents) override;
  at::Tensor output_latents(const at::Tensor& latents) override;
  std::unique_ptr<AppliedLora> apply_lora(const std::string& path, double strength) override;

  Flux2Klein& modules() { return model_; }
  const Flux2Klein& modules() const { return model_; }

  // On a GPU, the transformer's frozen weights go to it for the steps and back to the CPU
  // while something else needs the memory (the text encoder; a trainer's second model). On
  // the CPU both do nothing. Back to the CPU is free (the file's views again) unless a LoRA is
  // merged into the weights; then they are copied.
  void transformer_to_device();
  void park_transformer();

 private:
  Flux2Klein model_;
  models::FrozenTensors file_weights_;  // the transformer's weights as loaded, on the CPU
  int merged_loras_ = 0;
  LatentFormat latent_format_;
  std::unique_ptr<schedulers::NoiseProcess> noise_process_;
  // Encoded prompts, so that a second picture of the same prompt needs no text encoder (each
  // is 512 × 7680 floats for the real model: 15 MiB).
  static constexpr std::size_t kCachedPrompts = 16;
  std::map<std::string, at::Tensor> prompt_cache_;
  std::deque<std::string> prompt_order_;
};

}  // namespace pawtrait::families
