#include "models/blocks.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>

namespace pawtrait::models {

namespace F = torch::nn::functional;

torch::nn::GroupNorm group_norm(std::int64_t groups, std::int64_t channels, double eps) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(eps).affine(true));
}

at::Tensor timestep_embedding(const at::Tensor& timesteps, std::int64_t dim, bool flip_sin_to_cos, double freq_shift,
                              double max_period) {
  const std::int64_t half = dim / 2;
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(timesteps.device());
  at::Tensor exponent = -std::log(max_period) * at::arange(0, half, f32) / (static_cast<double>(half) - freq_shift);
  at::Tensor emb = timesteps.to(at::kFloat).unsqueeze(1) * exponent.exp().unsqueeze(0);
  emb = at::cat({emb.sin(), emb.cos()}, -1);
  if (flip_sin_to_cos) emb = at::cat({emb.slice(1, half), emb.slice(1, 0, half)}, -1);
  if (dim % 2 == 1) emb = at::constant_pad_nd(emb, {0, 1});
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(std::int64_t in_channels, std::int64_t time_embed_dim, bool bias) {
  linear_1 = register_module("linear_1", LoraLinear(in_channels, time_embed_dim, bias));
  linear_2 = register_module("linear_2", LoraLinear(time_embed_dim, time_embed_dim, bias));
}

at::Tensor TimestepEmbeddingImpl::forward(const at::Tensor& sample) {
  return linear_2->forward(at::silu(linear_1->forward(sample)));
}

ResnetBlock2DImpl::ResnetBlock2DImpl(std::int64_t in_channels, std::int64_t out_channels,
                                     std::optional<std::int64_t> temb_channels, std::int64_t groups, double eps,
                                     double output_scale_factor)
    : output_scale_factor(output_scale_factor) {
  norm1 = register_module("norm1", group_norm(groups, in_channels, eps));
  conv1 = register_module("conv1", Conv2d(in_channels, out_channels, 3, 1, 1));
  if (temb_channels) time_emb_proj = register_module("time_emb_proj", LoraLinear(*temb_channels, out_channels));
  norm2 = register_module("norm2", group_norm(groups, out_channels, eps));
  conv2 = register_module("conv2", Conv2d(out_channels, out_channels, 3, 1, 1));
  if (in_channels != out_channels)
    conv_shortcut = register_module("conv_shortcut", Conv2d(in_channels, out_channels, 1));
}

at::Tensor ResnetBlock2DImpl::forward(const at::Tensor& input, const at::Tensor& temb) {
  at::Tensor hidden = conv1->forward(at::silu(norm1->forward(input)));
  if (temb.defined() && !time_emb_proj.is_empty()) {
    hidden = hidden + time_emb_proj->forward(at::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  }
  hidden = conv2->forward(at::silu(norm2->forward(hidden)));  // dropout 0 at inference and in SD training
  const at::Tensor shortcut = conv_shortcut.is_empty() ? input : conv_shortcut->forward(input);
  at::Tensor out = shortcut + hidden;
  return output_scale_factor == 1.0 ? out : out / output_scale_factor;
}

Downsample2DImpl::Downsample2DImpl(std::int64_t channels, std::int64_t padding) : padding(padding) {
  conv = register_module("conv", Conv2d(channels, channels, 3, 2, padding));
}

at::Tensor Downsample2DImpl::forward(const at::Tensor& x) {
  if (padding == 0) return conv->forward(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
  return conv->forward(x);
}

Upsample2DImpl::Upsample2DImpl(std::int64_t channels) {
  conv = register_module("conv", Conv2d(channels, channels, 3, 1, 1));
}

at::Tensor Upsample2DImpl::forward(const at::Tensor& x, std::optional<std::vector<std::int64_t>> size) {
  // Nearest upsampling of bfloat16 was missing from older kernels; the reference upcasts.
  const bool bf16 = x.scalar_type() == at::kBFloat16;
  at::Tensor h = bf16 ? x.to(at::kFloat) : x.contiguous();
  if (size) {
    h = at::upsample_nearest2d(h, *size);
  } else {
    h = at::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2});
  }
  if (bf16) h = h.to(at::kBFloat16);
  return conv->forward(h);
}

}  // namespace pawtrait::models
