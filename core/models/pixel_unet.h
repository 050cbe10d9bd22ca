#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/attention.h"
#include "models/blocks.h"

namespace pawtrait::models {

// The built-in model: an unconditional pixel-space DDPM UNet (Ho et al. 2020, Appendix B,
// scaled down): resnet blocks with the timestep embedding, self-attention at the chosen
// levels, ×2 down/up sampling between levels, skip connections.
struct PixelUNetConfig {
  std::int64_t resolution = 64;
  std::int64_t channels = 3;
  std::vector<std::int64_t> block_out_channels = {32, 64, 96, 128};
  std::int64_t layers_per_block = 1;
  std::vector<std::int64_t> attention_levels = {2};  // 16×16 at 64×64, as DDPM attends at 16×16
  std::int64_t norm_num_groups = 16;

  nlohmann::json to_json() const;
  static PixelUNetConfig from_json(const nlohmann::json& json, const std::string& source);
};

struct PixelUNetImpl : torch::nn::Module {
  explicit PixelUNetImpl(const PixelUNetConfig& config);
  // x_t (b, 3, r, r) in [-1, 1]-scaled pixels, t (b) → predicted ε (b, 3, r, r).
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep);

  PixelUNetConfig config;
  TimestepEmbedding time_embedding{nullptr};
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_resnets, down_attentions, downsamplers;
  torch::nn::ModuleList mid;
  torch::nn::ModuleList up_resnets, up_attentions, upsamplers;
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  bool attends(std::size_t level) const;
};
TORCH_MODULE(PixelUNet);

}  // namespace pawtrait::models
