#include "pipeline/text_to_image.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "schedulers/sampler_registry.h"

namespace pawtrait::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Each image draws its initial noise and then its sampler noise from its own generators, so
// image i of a batch equals the same seed run alone.
class PerImageNoise : public schedulers::NoiseSource {
 public:
  explicit PerImageNoise(std::vector<at::Generator> generators) : generators_(std::move(generators)) {}
  at::Tensor next(at::IntArrayRef shape, const at::TensorOptions& options) override {
    TORCH_CHECK(shape[0] == static_cast<std::int64_t>(generators_.size()), "noise batch does not match the images");
    std::vector<std::int64_t> one(shape.begin(), shape.end());
    one[0] = 1;
    std::vector<at::Tensor> parts;
    for (auto& g : generators_) parts.push_back(at::randn(one, g, at::TensorOptions().dtype(at::kFloat)));
    return at::cat(parts).to(options.device(), options.dtype().toScalarType());
  }

 private:
  std::vector<at::Generator> generators_;
};

at::Generator cpu_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

}  // namespace

TextToImage::TextToImage(families::DiffusionModel& model) : model_(model) {}

std::string TextToImage::picture_sampler() const {
  try {
    model_.noise_process().make_sampler("dpmpp_2m_karras", {});
    return "dpmpp_2m_karras";
  } catch (const Error&) {
    return model_.defaults().sampler;
  }
}

void TextToImage::validate(const GenerateRequest& r) const {
  schedulers::sampler_info(r.sampler);  // throws for unknown names
  // ... and the model's noise process for samplers that cannot run on it (a discrete one on a
  // flow model), before any work.
  model_.noise_process().make_sampler(r.sampler, {.eta = r.eta, .image_tokens = 1});
  const std::int64_t train_steps = model_.noise_process().num_train_timesteps();
  if (r.steps < 1 || r.steps > train_steps) {
    throw Error("steps must be between 1 and " + std::to_string(train_steps) + "; got " + std::to_string(r.steps));
  }
  const std::int64_t multiple = model_.latent_format().size_multiple;
  constexpr std::int64_t kMaxSide = 8192;  // 64 megapixels: past it no model draws anything useful
  if (r.width > kMaxSide || r.height > kMaxSide) {
    throw Error("width and height must be at most " + std::to_string(kMaxSide) + "; got " + std::to_string(r.width) +
                "x" + std::to_string(r.height));
  }
  if (r.width < multiple || r.height < multiple || r.width % multiple != 0 || r.height % multiple != 0) {
    throw Error("width and height must be positive multiples of " + std::to_string(multiple) + "; got " +
                std::to_string(r.width) + "x" + std::to_string(r.height));
  }
  if (r.guidance < 1.0) {
    throw Error("guidance must be 1 or more (1 turns classifier-free guidance off); got " + std::to_string(r.guidance));
  }
  if (r.count < 1) throw Error("the number of images must be at least 1");
  if (r.batch_size < 1) throw Error("the batch size must be at least 1");
  if (!models::text_cleanup_named(r.prompt_cleanup)) {
    throw Error("prompt_cleanup must be nfc (as current diffusers) or ftfy (as transformers 4 with ftfy); got \"" +
                r.prompt_cleanup + "\"");
  }
  for (const auto& lora : r.loras) {
    if (lora.strength < 0.0 || lora.strength > 2.0) {
      throw Error("LoRA strength must be between 0 and 2; got " + std::to_string(lora.strength) + " for " + lora.path);
    }
    if (!std::filesystem::exists(lora.path)) throw Error("LoRA file not found: " + lora.path);
  }
}

const families::Conditioning& TextToImage::encode_prompt(const std::string& prompt,
                                                         const families::PromptOptions& options, const LogSink& log) {
  const auto key =
      std::make_tuple(lora_signature_, prompt, options.clip_skip, static_cast<int>(options.text_cleanup), 0);
  if (auto it = prompt_cache_.find(key); it != prompt_cache_.end()) return it->second;
  const auto start = Clock::now();
  families::PromptOptions positive = options;
  positive.negative = false;
  families::Conditioning conditioning = model_.encode(prompt, positive, log);
  timings_.text_encoder += since(start);
  return prompt_cache_.emplace(key, std::move(conditioning)).first->second;
}

const families::Conditioning& TextToImage::encode_negative(const std::optional<std::string>& prompt,
                                                           const families::PromptOptions& options, const LogSink& log) {
  const auto key = std::make_tuple(lora_signature_, prompt.value_or(""), options.clip_skip,
                                   static_cast<int>(options.text_cleanup), prompt ? 1 : 2);
  if (auto it = prompt_cache_.find(key); it != prompt_cache_.end()) return it->second;
  const auto start = Clock::now();
  families::PromptOptions negative = options;
  negative.negative = true;
  families::Conditioning conditioning =
      prompt ? model_.encode(*prompt, negative, log) : model_.unconditional(negative, log);
  timings_.text_encoder += since(start);
  return prompt_cache_.emplace(key, std::move(conditioning)).first->second;
}

std::vector<GeneratedImage> TextToImage::generate(const GenerateRequest& request, const GenerateCallbacks& callbacks,
                                                  const at::Tensor& initial_latents) {
  validate(request);
  timings_ = {};
  const auto run_start = Clock::now();

  // 0. LoRAs merged into the weights for this run only; restored in reverse order after it.
  struct Merged {
    std::vector<std::unique_ptr<families::AppliedLora>> layers;
    std::string& signature;
    ~Merged() {
      while (!layers.empty()) layers.pop_back();
      signature.clear();
    }
  } merged{{}, lora_signature_};
  for (const auto& spec : request.loras) {
    merged.layers.push_back(model_.apply_lora(spec.path, spec.strength));
    lora_signature_ += spec.path + "@" + std::to_string(spec.strength) + ";";
    log_to(callbacks.log, LogLevel::Info,
           "LoRA " + spec.path + " (" + merged.layers.back()->format + ", " +
               std::to_string(merged.layers.back()->layers) + " layers) at strength " + std::to_string(spec.strength));
  }
  c10::InferenceMode inference;
  const families::LatentFormat& format = model_.latent_format();
  const std::int64_t channels = format.channels;
  const std::int64_t h = request.height / format.spatial_factor, w = request.width / format.spatial_factor;
  std::int64_t count = request.count;
  if (initial_latents.defined()) {
    if (initial_latents.dim() != 4 || initial_latents.size(1) != channels || initial_latents.size(2) != h ||
        initial_latents.size(3) != w) {
      throw Error("the initial latents have shape " + c10::str(initial_latents.sizes()) +
                  "; this model and size need [n, " + std::to_string(channels) + ", " + std::to_string(h) + ", " +
                  std::to_string(w) + "]");
    }
    count = initial_latents.size(0);
  }
  const at::TensorOptions options = model_.options();
  // An unconditional model has nothing to guide towards.
  const bool guided = model_.uses_guidance() && request.guidance > 1.0;
  if (model_.prompted() && !model_.uses_guidance() && request.guidance > 1.0) {
    log_to(callbacks.log, LogLevel::Info,
           "the " + model_.family() + " model is guidance-distilled: guidance " + std::to_string(request.guidance) +
               " is not used");
  }
  const std::optional<std::uint64_t> step_noise_offset = model_.step_noise_seed_offset();

  // 1. The prompt's conditioning, [uncond, cond] as the reference batches them, with what the
  //    picture's size tells the denoiser (the negative sizes count only when both are given,
  //    as in the reference pipeline).
  const families::PromptOptions prompt_options{.clip_skip = request.clip_skip,
                                               .text_cleanup = *models::text_cleanup_named(request.prompt_cleanup)};
  families::Conditioning cond = encode_prompt(request.prompt, prompt_options, callbacks.log).to(options);
  const families::SizeConditioning sizes{request.original_size, request.crops_coords_top_left, request.target_size};
  model_.condition_on_size(cond, sizes, request.height, request.width);
  families::Conditioning uncond;
  if (guided) {
    uncond = encode_negative(request.negative_prompt, prompt_options).to(options);
    const bool negative_sizes = request.negative_original_size && request.negative_target_size;
    const families::SizeConditioning negative{request.negative_original_size, request.negative_crops_coords_top_left,
                                              request.negative_target_size};
    model_.condition_on_size(uncond, negative_sizes ? negative : sizes, request.height, request.width);
  }

  model_.finished_encoding();

  std::vector<GeneratedImage> images;
  for (std::int64_t first = 0; first < count; first += request.batch_size) {
    const std::int64_t n = std::min(request.batch_size, count - first);

    // 2. A fresh sampler per batch, made from the model's noise process.
    auto sampler = model_.noise_process().make_sampler(request.sampler, {.eta = request.eta, .image_tokens = h * w});
    sampler->set_timesteps(request.steps);

    // 3. Initial noise: given, or one generator per image seeded seed + index.
    std::vector<at::Generator> generators;
    at::Tensor latents;
    for (std::int64_t i = 0; i < n; ++i) {
      generators.push_back(cpu_generator(request.seed + static_cast<std::uint64_t>(first + i)));
    }
    if (initial_latents.defined()) {
      latents = initial_latents.slice(0, first, first + n).to(at::kFloat);
    } else {
      std::vector<at::Tensor> parts;
      for (auto& g : generators)
        parts.push_back(at::randn({1, channels, h, w}, g, at::TensorOptions().dtype(at::kFloat)));
      latents = at::cat(parts);
    }
    latents = (latents * sampler->init_noise_sigma()).to(options);
    if (step_noise_offset) {
      for (std::int64_t i = 0; i < n; ++i) {
        generators[static_cast<std::size_t>(i)] =
            cpu_generator(request.seed + static_cast<std::uint64_t>(first + i) + *step_noise_offset);
      }
    }
    PerImageNoise noise(std::move(generators));

    const families::Conditioning conditioning =
        guided ? families::Conditioning::cat(uncond.expand(n), cond.expand(n)) : cond.expand(n);
    // 4. The denoising loop.
    const std::vector<double> timesteps = [&] {
      const at::Tensor t = sampler->timesteps().to(at::kDouble).contiguous();
      return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    }();
    const at::Tensor schedule_t = sampler->timesteps();
    for (std::size_t s = 0; s < timesteps.size(); ++s) {
      if (callbacks.cancel != nullptr && callbacks.cancel->load()) {
        timings_.total = since(run_start);
        return images;
      }
      const double t = timesteps[s];
      at::Tensor model_input = guided ? at::cat({latents, latents}) : latents;
      model_input = sampler->scale_model_input(model_input, t);
      const auto unet_start = Clock::now();
      at::Tensor noise_pred = model_.predict(model_input, schedule_t[static_cast<std::int64_t>(s)], conditioning);
      timings_.unet += since(unet_start);
      ++timings_.unet_calls;
      if (guided) {
        auto parts = noise_pred.chunk(2);
        noise_pred = parts[0] + request.guidance * (parts[1] - parts[0]);
      }
      latents = sampler->step(noise_pred, t, latents, &noise).prev_sample;
      if (callbacks.on_step) {
        callbacks.on_step(
            {first, count, static_cast<std::int64_t>(s + 1), static_cast<std::int64_t>(timesteps.size())});
      }
    }
    if (!at::isfinite(latents).all().item<bool>()) {
      throw Error("sampling produced non-finite values (" + request.sampler + ", " + std::to_string(request.steps) +
                  " steps); try another sampler or step count");
    }

    // 5. Decode to 8-bit RGB: (x / 2 + 0.5) clamped to [0, 1], times 255, rounded.
    const auto vae_start = Clock::now();
    const at::Tensor decoded = model_.decode(latents);
    timings_.vae += since(vae_start);
    const at::Tensor pixels = (decoded.to(at::kFloat) / 2 + 0.5)
                                  .clamp(0, 1)
                                  .mul(255)
                                  .round()
                                  .to(at::kByte)
                                  .permute({0, 2, 3, 1})
                                  .contiguous()
                                  .cpu();
    for (std::int64_t i = 0; i < n; ++i) {
      GeneratedImage image;
      image.index = first + i;
      image.seed = request.seed + static_cast<std::uint64_t>(first + i);
      image.width = request.width;
      image.height = request.height;
      const at::Tensor one = pixels[i];
      image.rgb.assign(one.data_ptr<std::uint8_t>(), one.data_ptr<std::uint8_t>() + one.numel());
      image.request = request;
      image.request.seed = image.seed;
      image.request.count = 1;
      image.latents = model_.output_latents(latents.slice(0, i, i + 1)).to(at::kFloat).cpu().clone();
      if (callbacks.on_image) callbacks.on_image(image);
      images.push_back(std::move(image));
    }
  }
  timings_.total = since(run_start);
  return images;
}

}  // namespace pawtrait::pipeline
