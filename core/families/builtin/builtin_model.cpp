#include "families/builtin/builtin_model.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace pawtrait::families {

BuiltinModel::BuiltinModel(training::PixelModel model) : model_(std::move(model)) {
  latent_format_.channels = model_.config.channels;
  latent_format_.spatial_factor = 1;
  latent_format_.size_multiple = 1;
  latent_format_.scaling_factor = 1.0;
}

GenerateDefaults BuiltinModel::defaults() const {
  return {.sampler = kSampler, .steps = kSteps, .size = model_.config.resolution, .size_fixed = true};
}

at::TensorOptions BuiltinModel::options() const { return at::TensorOptions().dtype(at::kFloat).device(at::kCPU); }

Conditioning BuiltinModel::encode(const std::string&, const PromptOptions&, const LogSink&) { return {}; }

at::Tensor BuiltinModel::predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning&) {
  return model_.unet->forward(x_t, t);
}

std::unique_ptr<AppliedLora> BuiltinModel::apply_lora(const std::string& path, double) {
  throw Error("the built-in model takes no LoRA (" + path + "); a LoRA is for a Stable Diffusion model");
}

}  // namespace pawtrait::families
