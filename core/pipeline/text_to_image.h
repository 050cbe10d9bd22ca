#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/log.h"
#include "families/diffusion_model.h"
#include "pipeline/generate_request.h"
#include "pipeline/step_progress.h"

namespace pawtrait::pipeline {

// One finished picture: 8-bit RGB, row-major, 3 bytes a pixel, with what made it.
struct GeneratedImage {
  std::int64_t index = 0;
  std::uint64_t seed = 0;
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::vector<std::uint8_t> rgb;
  GenerateRequest request;  // this image alone: count 1, its own seed
  at::Tensor latents;       // the model's output_latents() of the sampler's final ones (output_type="latent")
};

// Where the last generate() spent its time (wall clock, seconds), for the benchmarks: what
// is neither prompt encoding, denoiser ("unet") nor decoding ("vae") is the pipeline's own.
struct GenerateTimings {
  double total = 0;
  double text_encoder = 0;
  double unet = 0;
  double vae = 0;
  std::int64_t unet_calls = 0;
};

struct GenerateCallbacks {
  std::function<void(const StepProgress&)> on_step;
  std::function<void(const GeneratedImage&)> on_image;
  LogSink log;
  const std::atomic<bool>* cancel = nullptr;  // checked between steps
};

// Text-to-image sampling for a model of any family (the shape of the reference's
// StableDiffusionPipeline): the prompt's conditioning, classifier-free guidance (Ho &
// Salimans 2022) with the unconditional and conditional passes in one batch, any sampler of
// the registry built on the model's own scheduler config, and the decode. It sees the model
// only through families::DiffusionModel. Runs under inference mode.
class TextToImage {
 public:
  explicit TextToImage(families::DiffusionModel& model);
  families::DiffusionModel& model() { return model_; }
  // The sampler the trainer's pictures (previews, class images) are drawn with: DPM-Solver++
  // 2M Karras, sharp in 25 steps, where the model's noise process has it; else the model's own
  // (a flow model's Euler).
  std::string picture_sampler() const;

  // Throws pawtrait::Error before any work for a request it cannot run (bad size, steps,
  // sampler, guidance). `initial_latents`, when given, replaces the seeded noise: one
  // (1, C, h, w) row per image, standard normal, scaled by the sampler's init_noise_sigma.
  // Stops between steps when the cancel flag is raised and returns the finished images.
  std::vector<GeneratedImage> generate(const GenerateRequest& request, const GenerateCallbacks& callbacks = {},
                                       const at::Tensor& initial_latents = {});

  // The prompt's conditioning as the denoiser sees it (SD: "context", (1, 77, d)); cached
  // per prompt for this object. `negative`: for the unconditional branch, where no prompt
  // (nullopt) is the model's own unconditional conditioning.
  const families::Conditioning& encode_prompt(const std::string& prompt, const families::PromptOptions& options = {},
                                              const LogSink& log = {});
  const families::Conditioning& encode_negative(const std::optional<std::string>& prompt,
                                                const families::PromptOptions& options = {}, const LogSink& log = {});

  // Drops the cached conditionings: the text encoder's weights changed (training it).
  void forget_prompts() { prompt_cache_.clear(); }

  void validate(const GenerateRequest& request) const;
  const GenerateTimings& last_timings() const { return timings_; }

 private:
  families::DiffusionModel& model_;
  // Conditionings depend on the text encoder's LoRAs too: the key includes the merged set.
  // The last element: 0 a prompt, 1 a negative prompt, 2 no negative prompt.
  std::map<std::tuple<std::string, std::string, std::int64_t, int, int>, families::Conditioning> prompt_cache_;
  std::string lora_signature_;
  GenerateTimings timings_;
};

}  // namespace pawtrait::pipeline
