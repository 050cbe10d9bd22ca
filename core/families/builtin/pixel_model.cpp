#include "families/builtin/pixel_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "common/error.h"
#include "common/json_file.h"
#include "models/weight_init.h"
#include "schedulers/noise_source.h"
#include "schedulers/sampler_registry.h"
#include "tensors/safetensors_reader.h"
#include "tensors/state_dict_loader.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> to_rgb8(const at::Tensor& image) {  // (3, h, w) in [-1, 1]
  const at::Tensor pixels =
      (image / 2 + 0.5).clamp(0, 1).mul(255).round().to(at::kByte).permute({1, 2, 0}).contiguous();
  return {pixels.data_ptr<std::uint8_t>(), pixels.data_ptr<std::uint8_t>() + pixels.numel()};
}

}  // namespace

PixelModel load_pixel_model(const fs::path& path) {
  const fs::path weights = fs::is_directory(path) ? path / "model.safetensors" : path;
  if (!fs::exists(weights)) {
    throw Error(weights.string() +
                " not found; train the built-in model first (pawtrait-cli train --model builtin ...)");
  }
  const auto file = tensors::SafetensorsFile::open(weights);
  auto it = file.metadata().find("pawtrait.model");
  if (it == file.metadata().end()) throw Error(weights.string() + " is not a Pawtrait built-in model");
  PixelModel model;
  model.config = models::PixelUNetConfig::from_json(parse_python_json(it->second, weights.string()), weights.string());
  {
    models::SkipWeightInit loaded_next;  // every weight comes from the file (strict load)
    model.unet = models::PixelUNet(model.config);
  }
  tensors::load_state_dict(*model.unet, std::vector<tensors::SafetensorsFile>{file});
  model.unet->eval();
  return model;
}

std::vector<std::vector<std::uint8_t>> sample_pixel_model(PixelModel& model, const std::string& sampler,
                                                          std::int64_t steps, std::uint64_t seed, std::int64_t count) {
  c10::InferenceMode inference;
  const std::int64_t r = model.config.resolution;
  auto s = schedulers::make_sampler(sampler, schedulers::SchedulerConfig{});  // DDPM's linear betas, x̂₀ clipped
  s->set_timesteps(steps);
  std::vector<at::Generator> generators;
  std::vector<at::Tensor> noise;
  for (std::int64_t i = 0; i < count; ++i) {
    generators.push_back(at::make_generator<at::CPUGeneratorImpl>(seed + static_cast<std::uint64_t>(i)));
    noise.push_back(at::randn({1, model.config.channels, r, r}, generators.back()));
  }
  at::Tensor x = at::cat(noise) * s->init_noise_sigma();
  schedulers::GeneratorNoise step_noise(seed + 1000003);
  const at::Tensor timesteps = s->timesteps();
  for (std::int64_t i = 0; i < timesteps.size(0); ++i) {
    const double t = timesteps[i].item<double>();
    const at::Tensor eps = model.unet->forward(s->scale_model_input(x, t), timesteps[i]);
    x = s->step(eps, t, x, &step_noise).prev_sample;
  }
  if (!at::isfinite(x).all().item<bool>()) throw Error("sampling the built-in model produced non-finite values");
  std::vector<std::vector<std::uint8_t>> out;
  for (std::int64_t i = 0; i < count; ++i) out.push_back(to_rgb8(x[i]));
  return out;
}

}  // namespace pawtrait::training
