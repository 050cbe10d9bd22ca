#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/log.h"
#include "schedulers/noise_process.h"

#include "models/clip_text_cleanup.h"

namespace pawtrait::families {

// A prompt as the denoiser reads it: whatever tensors the family needs, by name, each with
// a batch dimension first. Stable Diffusion: "context" (1, 77, d). SDXL adds the pooled
// vector and the size ids; FLUX.2 [klein] the text position ids.
struct Conditioning {
  std::map<std::string, at::Tensor> tensors;
  // Made by cat(): the rows are the unconditional half, then the conditional one.
  bool guidance_halves = false;

  // Every tensor moved to `options`' device; floating ones also to its dtype (ids stay ids).
  Conditioning to(const at::TensorOptions& options) const;
  // Every tensor repeated to a batch of `n` rows.
  Conditioning expand(std::int64_t n) const;
  // Row-wise concatenation of two conditionings with the same names: [first; second], the
  // way classifier-free guidance batches the unconditional and the conditional pass.
  static Conditioning cat(const Conditioning& first, const Conditioning& second);
  // The named tensor; throws pawtrait::Error when the family made none of that name.
  const at::Tensor& at(const std::string& name) const;
};

// Where the sampler works: pixels for the built-in model, a VAE's latent space otherwise.
struct LatentFormat {
  std::int64_t channels = 4;
  std::int64_t spatial_factor = 8;  // picture side / latent side
  std::int64_t size_multiple = 8;   // picture sides must be multiples of it (the reference's check)
  double scaling_factor = 1.0;      // latents the sampler sees = (VAE latents - shift) · scaling
  double shift_factor = 0.0;
};

// What a picture's size tells a family's denoiser (SDXL's micro-conditioning), (height,
// width) in pixels; unset: the size drawn and no crop.
struct SizeConditioning {
  std::optional<std::array<std::int64_t, 2>> original_size, crop_top_left, target_size;
};

struct PromptOptions {
  std::int64_t clip_skip = 0;                                   // 0: the text encoder's last layer
  models::TextCleanup text_cleanup = models::TextCleanup::Nfc;  // how the tokenizer normalises the prompt
  bool negative = false;  // the unconditional branch of guidance (SDXL ignores clip_skip there, as its pipeline does)
};

// What a generate request leaves at 0 or "" is filled from here.
struct GenerateDefaults {
  std::string sampler;
  std::int64_t steps = 0;
  std::int64_t size = 0;    // its native picture side
  bool size_fixed = false;  // it draws at that size only (the request's size is replaced)
  double guidance = 7.5;    // the classifier-free guidance scale its pipeline defaults to
};

// A LoRA merged into a loaded model's weights; destroying it restores them.
class AppliedLora {
 public:
  virtual ~AppliedLora() = default;
  std::string format;  // the file's layout, for the log ("peft", "kohya", ...)
  std::int64_t layers = 0;
};

// One loaded model of one family (DESIGN.md, "One engine, many model families"). The
// pipeline and the trainer see a model only through this: they never ask which family it is.
class DiffusionModel {
 public:
  virtual ~DiffusionModel() = default;

  virtual std::string family() const = 0;  // "Stable Diffusion 1.x", "built-in", ...
  virtual const LatentFormat& latent_format() const = 0;
  // Its noise process: what the trainer noises latents with and the samplers are made from
  // (for Stable Diffusion, the β schedule of the model's own scheduler config).
  virtual const schedulers::NoiseProcess& noise_process() const = 0;
  virtual GenerateDefaults defaults() const = 0;
  // The device and dtype the denoiser computes in.
  virtual at::TensorOptions options() const = 0;

  // False for an unconditional model: prompts do not steer it, so there is no guidance.
  virtual bool prompted() const = 0;
  // False where a prompted model is not guided either: a guidance-distilled one (FLUX.2
  // [klein]'s 4-step model), whose pipeline ignores the guidance scale.
  virtual bool uses_guidance() const { return prompted(); }
  // One prompt (batch 1). Warnings (a prompt longer than the text encoder reads) go to `log`.
  virtual Conditioning encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) = 0;
  // The unconditional branch when no negative prompt is given: by default the empty prompt
  // encoded (the reference pipelines' negative_prompt=None).
  virtual Conditioning unconditional(const PromptOptions& options, const LogSink& log) {
    return encode("", options, log);
  }
  // Called once a run's prompts are encoded, before the denoising loop: a family may free its
  // text encoder's memory for the denoiser here.
  virtual void finished_encoding() {}
  // Adds to one branch's conditioning what the denoiser needs to know of the picture's size
  // (SDXL: its six size ids); nothing for most families.
  virtual void condition_on_size(Conditioning& /*conditioning*/, const SizeConditioning& /*sizes*/,
                                 std::int64_t /*height*/, std::int64_t /*width*/) const {}
  // The denoiser's output for x_t at timestep t (a 0-dim tensor), in the scheduler's terms
  // (ε, v or x₀ as its prediction_type says).
  virtual at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) = 0;
  // The sampler's latents → pixels in [-1, 1], (n, 3, H, W). Throws pawtrait::Error for a
  // non-finite result, saying what to change.
  virtual at::Tensor decode(const at::Tensor& latents) = 0;

  // What the reference pipeline returns with output_type="latent" for the sampler's final
  // latents (what --save-latents writes): the latents themselves for most families.
  virtual at::Tensor output_latents(const at::Tensor& latents) { return latents; }

  // Merges a LoRA file of any layout this family reads, until the result is destroyed.
  // Throws pawtrait::Error, changing nothing, for a LoRA that does not fit this model.
  virtual std::unique_ptr<AppliedLora> apply_lora(const std::string& path, double strength) = 0;

  // Where an image's step noise (ancestral samplers) comes from. By default it continues the
  // image's own generator after its initial noise; a model may instead name an offset, so
  // that image seed s draws its step noise from a second generator seeded s + offset.
  virtual std::optional<std::uint64_t> step_noise_seed_offset() const { return std::nullopt; }
};

}  // namespace pawtrait::families
