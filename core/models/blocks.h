#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <optional>
#include <vector>

#include "models/conv2d.h"
#include "models/lora_linear.h"

// Building blocks shared by the UNet and the VAE, named and laid out as diffusers' so that
// registered module paths are the checkpoint keys.
namespace pawtrait::models {

// Sinusoidal timestep embedding (Vaswani et al. 2017, as DDPM uses it): half sin, half cos
// of t·10000^(−i/(half − shift)); flip_sin_to_cos puts cos first, as SD was trained.
at::Tensor timestep_embedding(const at::Tensor& timesteps, std::int64_t dim, bool flip_sin_to_cos, double freq_shift,
                              double max_period = 10000.0);

// linear_1 → SiLU → linear_2: the MLP on the sinusoidal embedding (FLUX.2's without biases:
// sample_proj_bias=False).
struct TimestepEmbeddingImpl : torch::nn::Module {
  TimestepEmbeddingImpl(std::int64_t in_channels, std::int64_t time_embed_dim, bool bias = true);
  at::Tensor forward(const at::Tensor& sample);
  LoraLinear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

// Two GroupNorm → SiLU → 3×3 conv stages with the time embedding added in between (He et
// al. 2016 as adapted by DDPM); a 1×1 conv_shortcut when the channel count changes.
struct ResnetBlock2DImpl : torch::nn::Module {
  ResnetBlock2DImpl(std::int64_t in_channels, std::int64_t out_channels, std::optional<std::int64_t> temb_channels,
                    std::int64_t groups, double eps, double output_scale_factor = 1.0);
  at::Tensor forward(const at::Tensor& input, const at::Tensor& temb = {});

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
  LoraLinear time_emb_proj{nullptr};
  double output_scale_factor;
};
TORCH_MODULE(ResnetBlock2D);

// Stride-2 3×3 conv. padding 0 (the VAE) pads right and bottom by one first, as LDM did.
struct Downsample2DImpl : torch::nn::Module {
  Downsample2DImpl(std::int64_t channels, std::int64_t padding);
  at::Tensor forward(const at::Tensor& x);
  Conv2d conv{nullptr};
  std::int64_t padding;
};
TORCH_MODULE(Downsample2D);

// Nearest-neighbour ×2 (or to an explicit size, for odd inputs) then a 3×3 conv.
struct Upsample2DImpl : torch::nn::Module {
  explicit Upsample2DImpl(std::int64_t channels);
  at::Tensor forward(const at::Tensor& x, std::optional<std::vector<std::int64_t>> size = std::nullopt);
  Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

torch::nn::GroupNorm group_norm(std::int64_t groups, std::int64_t channels, double eps);

}  // namespace pawtrait::models
