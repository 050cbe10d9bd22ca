#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "families/builtin/pixel_unet_config.h"
#include "models/attention.h"
#include "models/blocks.h"

namespace pawtrait::models {

// The built-in model: an unconditional pixel-space DDPM UNet (Ho et al. 2020, Appendix B,
// scaled down), configured by PixelUNetConfig.
struct PixelUNetImpl : torch::nn::Module {
  explicit PixelUNetImpl(const PixelUNetConfig& config);
  // x_t (b, 3, r, r) in [-1, 1]-scaled pixels, t (b) → predicted ε (b, 3, r, r).
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep);

  PixelUNetConfig config;
  TimestepEmbedding time_embedding{nullptr};
  Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_resnets, down_attentions, downsamplers;
  torch::nn::ModuleList mid;
  torch::nn::ModuleList up_resnets, up_attentions, upsamplers;
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  bool attends(std::size_t level) const;
};
TORCH_MODULE(PixelUNet);

}  // namespace pawtrait::models
