#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <optional>

#include "models/conv2d.h"
#include "models/lora_linear.h"

namespace pawtrait::models {

// How attention is computed, for memory at high resolution: the query tokens are processed
// in chunks of `slice_size` (0 = all at once), which bounds the attention matrix at
// slice_size × keys per head. The result is the same either way.
struct AttentionOptions {
  std::int64_t slice_size = 0;
  // Recompute each resnet and transformer of the UNet's blocks during backward instead of
  // keeping their activations (models/gradient_checkpoint.h); only while grad mode is on.
  bool gradient_checkpointing = false;
};

// softmax(QKᵀ/sqrt(d)) V through LibTorch's scaled_dot_product_attention (flash or
// memory-efficient kernels where they apply). q, k, v: (batch, heads, tokens, head_dim).
// `upcast` computes it in float32 for half-precision inputs (SD 2.x's upcast_attention).
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool upcast,
                     const AttentionOptions& options, bool causal = false);

// diffusers' Attention: multi-head attention with to_q/to_k/to_v/to_out.0 projections.
// For the VAE's mid-block it also has a group_norm on its input and a residual connection,
// and works on (batch, channels, height, width).
struct AttentionImpl : torch::nn::Module {
  struct Options {
    std::int64_t query_dim;
    std::optional<std::int64_t> cross_attention_dim;  // keys/values from the text encoder
    std::int64_t heads;
    std::int64_t dim_head;
    bool bias = false;  // on to_q/k/v
    bool upcast = false;
    std::optional<std::int64_t> norm_groups;  // VAE: GroupNorm before, residual after
    double norm_eps = 1e-6;
  };
  explicit AttentionImpl(const Options& options);
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states = {},
                     const AttentionOptions& attention_options = {});

  Options options;
  torch::nn::GroupNorm group_norm{nullptr};
  LoraLinear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out;  // [LoraLinear]; the reference's index 1 is a parameter-free Dropout
};
TORCH_MODULE(Attention);

// GEGLU (Shazeer 2020): proj to twice the width, one half gated by GELU of the other.
struct GEGLUImpl : torch::nn::Module {
  GEGLUImpl(std::int64_t dim_in, std::int64_t dim_out);
  at::Tensor forward(const at::Tensor& x);
  LoraLinear proj{nullptr};
};
TORCH_MODULE(GEGLU);

// net.0 = GEGLU(dim → 4·dim), net.1 = Dropout (no parameters), net.2 = LoraLinear(4·dim → dim).
struct FeedForwardImpl : torch::nn::Module {
  explicit FeedForwardImpl(std::int64_t dim);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::ModuleList net;
};
TORCH_MODULE(FeedForward);

// Pre-LayerNorm transformer block: self-attention, cross-attention on the text, GEGLU MLP,
// each with a residual connection.
struct BasicTransformerBlockImpl : torch::nn::Module {
  BasicTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t dim_head,
                            std::int64_t cross_attention_dim, bool upcast_attention, bool only_cross_attention);
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                     const AttentionOptions& options);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};
  bool only_cross_attention;
};
TORCH_MODULE(BasicTransformerBlock);

// Transformer2DModel for image features: GroupNorm, proj_in (1×1 conv, or Linear with
// use_linear_projection as in SD 2.x), transformer blocks over the h·w tokens, proj_out,
// plus the input.
struct Transformer2DModelImpl : torch::nn::Module {
  struct Options {
    std::int64_t heads;
    std::int64_t dim_head;
    std::int64_t in_channels;
    std::int64_t num_layers = 1;
    std::int64_t cross_attention_dim;
    std::int64_t norm_groups = 32;
    bool use_linear_projection = false;
    bool upcast_attention = false;
    bool only_cross_attention = false;
  };
  explicit Transformer2DModelImpl(const Options& options);
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                     const AttentionOptions& attention_options);

  Options options;
  torch::nn::GroupNorm norm{nullptr};
  // Registered as "proj_in"/"proj_out": 1×1 convolutions, or Linear with use_linear_projection.
  Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};
  LoraLinear proj_in_linear{nullptr}, proj_out_linear{nullptr};
  torch::nn::ModuleList transformer_blocks;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace pawtrait::models
