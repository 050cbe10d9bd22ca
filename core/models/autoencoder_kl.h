#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/attention.h"
#include "models/autoencoder_kl_config.h"
#include "models/blocks.h"

namespace pawtrait::models {

// The encoder's output: a diagonal Gaussian over latents, logvar clamped to [-30, 20].
struct LatentDistribution {
  at::Tensor mean, logvar, std;
  at::Tensor sample(std::optional<at::Generator> generator = std::nullopt) const;  // mean + std·ε
  at::Tensor mode() const { return mean; }
};

// resnets then a downsampler (VAE encoder), or resnets then an upsampler (decoder).
struct VaeBlockImpl : torch::nn::Module {
  VaeBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t layers, std::int64_t groups,
               bool add_downsample, bool add_upsample);
  at::Tensor forward(at::Tensor hidden);
  torch::nn::ModuleList resnets{nullptr}, downsamplers{nullptr}, upsamplers{nullptr};
};
TORCH_MODULE(VaeBlock);

// resnet → single-head self-attention over all pixels → resnet.
struct VaeMidBlockImpl : torch::nn::Module {
  VaeMidBlockImpl(std::int64_t channels, std::int64_t groups, bool add_attention = true);
  at::Tensor forward(at::Tensor hidden, const AttentionOptions& options);
  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};  // attentions empty: resnets only
};
TORCH_MODULE(VaeMidBlock);

// FLUX.2's BatchNorm2d(affine=False) over the patchified latents, of which only the running
// statistics matter: the pipeline normalises latents with them by hand and never runs it.
struct LatentBatchNormImpl : torch::nn::Module {
  explicit LatentBatchNormImpl(std::int64_t channels);
  at::Tensor running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(LatentBatchNorm);

struct VaeEncoderImpl : torch::nn::Module {
  explicit VaeEncoderImpl(const AutoencoderKLConfig& c);
  at::Tensor forward(const at::Tensor& image, const AttentionOptions& options);
  Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks;
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

struct VaeDecoderImpl : torch::nn::Module {
  explicit VaeDecoderImpl(const AutoencoderKLConfig& c);
  at::Tensor forward(const at::Tensor& latents, const AttentionOptions& options);
  Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList up_blocks;
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

// The KL-regularised autoencoder that maps images in [-1, 1] to latents and back
// (Rombach et al. 2022). Latents for the UNet are the sample times scaling_factor; decode
// expects them divided back.
struct AutoencoderKLImpl : torch::nn::Module {
  explicit AutoencoderKLImpl(const AutoencoderKLConfig& config);
  LatentDistribution encode(const at::Tensor& image);
  at::Tensor decode(const at::Tensor& latents);
  // Decodes in overlapping tiles of `tile` latent pixels, blending the seams linearly, so
  // that large images fit in memory. tile 0 decodes whole.
  at::Tensor decode_tiled(const at::Tensor& latents, std::int64_t tile, std::int64_t overlap);

  AutoencoderKLConfig config;
  AttentionOptions attention_options;
  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};  // absent without use_(post_)quant_conv
  LatentBatchNorm bn{nullptr};                           // AutoencoderKLFlux2 only
};
TORCH_MODULE(AutoencoderKL);

}  // namespace pawtrait::models
