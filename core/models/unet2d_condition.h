#pragma once

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
#include "models/blocks.h"
#include "models/unet2d_condition_config.h"

namespace pawtrait::models {

// One down block: resnets (with transformer "attentions" after each for CrossAttnDownBlock2D)
// and a stride-2 downsampler except in the last block.
struct UNetDownBlockImpl : torch::nn::Module {
  UNetDownBlockImpl(const UNet2DConditionConfig& c, std::size_t index, std::int64_t in_channels,
                    std::int64_t out_channels, std::int64_t temb_channels, bool cross_attention, bool add_downsample);
  // Appends each resnet's (and the downsampler's) output to `skips`.
  at::Tensor forward(at::Tensor hidden, const at::Tensor& temb, const at::Tensor& context,
                     std::vector<at::Tensor>& skips, const AttentionOptions& options);
  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, downsamplers{nullptr};
};
TORCH_MODULE(UNetDownBlock);

struct UNetMidBlockImpl : torch::nn::Module {
  UNetMidBlockImpl(const UNet2DConditionConfig& c, std::int64_t channels, std::int64_t temb_channels);
  at::Tensor forward(at::Tensor hidden, const at::Tensor& temb, const at::Tensor& context,
                     const AttentionOptions& options);
  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};
};
TORCH_MODULE(UNetMidBlock);

// One up block: layers_per_block + 1 resnets, each taking a skip connection concatenated on
// the channels, optional transformers, and a ×2 upsampler except in the last block.
struct UNetUpBlockImpl : torch::nn::Module {
  UNetUpBlockImpl(const UNet2DConditionConfig& c, std::size_t index, std::int64_t in_channels,
                  std::int64_t prev_output_channels, std::int64_t out_channels, std::int64_t temb_channels,
                  bool cross_attention, bool add_upsample);
  at::Tensor forward(at::Tensor hidden, std::vector<at::Tensor>& skips, const at::Tensor& temb,
                     const at::Tensor& context, std::optional<std::vector<std::int64_t>> upsample_size,
                     const AttentionOptions& options);
  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, upsamplers{nullptr};
};
TORCH_MODULE(UNetUpBlock);

// The conditional denoiser ε_θ(x_t, t, c) of Stable Diffusion (Rombach et al. 2022).
struct UNet2DConditionModelImpl : torch::nn::Module {
  explicit UNet2DConditionModelImpl(const UNet2DConditionConfig& config);
  // sample (b, in, h, w); timestep a scalar or (b) tensor (int or float); encoder_hidden_states
  // (b, tokens, cross_attention_dim). With addition_embed_type "text_time" (SDXL) also
  // text_embeds (b, pooled width) and time_ids (b, 6): original size, crop top-left, target
  // size. Returns the prediction, (b, out, h, w).
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep, const at::Tensor& encoder_hidden_states,
                     const at::Tensor& text_embeds = {}, const at::Tensor& time_ids = {});
  // Trades compute for memory in training: the down, mid and up blocks' resnets and
  // transformers are run again during backward instead of keeping their activations
  // (about one more forward pass per step). Results and gradients are unchanged.
  void enable_gradient_checkpointing(bool on = true);

  UNet2DConditionConfig config;
  AttentionOptions attention_options;
  TimestepEmbedding time_embedding{nullptr};
  TimestepEmbedding add_embedding{nullptr};  // "text_time" only; add_time_proj has no weights
  Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks, up_blocks;
  UNetMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(UNet2DConditionModel);

}  // namespace pawtrait::models
