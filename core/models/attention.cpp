#include "models/attention.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include <cmath>

#include "models/blocks.h"

namespace pawtrait::models {

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool upcast,
                     const AttentionOptions& options, bool causal) {
  const bool half = q.scalar_type() == at::kHalf || q.scalar_type() == at::kBFloat16;
  // On the CPU, reduced-precision attention is always computed in float32: LibTorch's bf16
  // flash kernel there packs its operands for AMX even when ATen runs its AVX2 kernels
  // (ATEN_CPU_CAPABILITY=avx2 on an AMX CPU: "pack_vnni2 is only supported when avx512 is
  // supported"), and the CPU gains nothing from bf16 attention that would pay for that.
  const bool up = half && (upcast || q.device().is_cpu());
  const at::Tensor qq = up ? q.to(at::kFloat) : q;
  const at::Tensor kk = up ? k.to(at::kFloat) : k;
  const at::Tensor vv = up ? v.to(at::kFloat) : v;
  const std::int64_t tokens = q.size(2);
  at::Tensor out;
  if (options.slice_size <= 0 || options.slice_size >= tokens) {
    out = at::scaled_dot_product_attention(qq, kk, vv, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal);
  } else {
    TORCH_CHECK(!causal, "sliced causal attention is not implemented");
    std::vector<at::Tensor> parts;
    for (std::int64_t start = 0; start < tokens; start += options.slice_size) {
      const std::int64_t end = std::min(tokens, start + options.slice_size);
      parts.push_back(at::scaled_dot_product_attention(qq.slice(2, start, end), kk, vv));
    }
    out = at::cat(parts, 2);
  }
  return up ? out.to(q.scalar_type()) : out;
}

AttentionImpl::AttentionImpl(const Options& o) : options(o) {
  const std::int64_t inner = o.heads * o.dim_head;
  const std::int64_t kv_dim = o.cross_attention_dim.value_or(o.query_dim);
  if (o.norm_groups)
    group_norm = register_module("group_norm", models::group_norm(*o.norm_groups, o.query_dim, o.norm_eps));
  to_q = register_module("to_q", LoraLinear(o.query_dim, inner, o.bias));
  to_k = register_module("to_k", LoraLinear(kv_dim, inner, o.bias));
  to_v = register_module("to_v", LoraLinear(kv_dim, inner, o.bias));
  to_out = register_module("to_out", torch::nn::ModuleList(LoraLinear(inner, o.query_dim, true)));
}

at::Tensor AttentionImpl::forward(const at::Tensor& input, const at::Tensor& encoder_hidden_states,
                                  const AttentionOptions& attention_options) {
  // 1. Image input (VAE): (b, c, h, w) → (b, h·w, c); group norm over channels.
  at::Tensor hidden = input;
  const bool spatial = input.dim() == 4;
  if (spatial) hidden = input.flatten(2).transpose(1, 2);
  if (!group_norm.is_empty()) hidden = group_norm->forward(hidden.transpose(1, 2)).transpose(1, 2);

  // 2. Projections, split into heads: (b, tokens, heads·d) → (b, heads, tokens, d).
  const at::Tensor context = encoder_hidden_states.defined() ? encoder_hidden_states : hidden;
  const std::int64_t batch = hidden.size(0);
  auto heads = [&](const at::Tensor& x) {
    return x.view({batch, -1, options.heads, options.dim_head}).transpose(1, 2);
  };
  const at::Tensor q = heads(to_q->forward(hidden));
  const at::Tensor k = heads(to_k->forward(context));
  const at::Tensor v = heads(to_v->forward(context));

  // 3. Attention, heads merged back, output projection.
  at::Tensor out = attention(q, k, v, options.upcast, attention_options);
  out = out.transpose(1, 2).reshape({batch, -1, options.heads * options.dim_head}).to(q.scalar_type());
  out = to_out[0]->as<LoraLinear>()->forward(out);

  // 4. Back to an image, plus the residual (VAE).
  if (spatial) out = out.transpose(1, 2).reshape(input.sizes());
  if (options.norm_groups) out = out + input;
  return out;
}

GEGLUImpl::GEGLUImpl(std::int64_t dim_in, std::int64_t dim_out) {
  proj = register_module("proj", LoraLinear(dim_in, dim_out * 2));
}

at::Tensor GEGLUImpl::forward(const at::Tensor& x) {
  auto parts = proj->forward(x).chunk(2, -1);
  return parts[0] * at::gelu(parts[1]);
}

FeedForwardImpl::FeedForwardImpl(std::int64_t dim) {
  const std::int64_t inner = dim * 4;
  net =
      register_module("net", torch::nn::ModuleList(GEGLU(dim, inner), torch::nn::Dropout(0.0), LoraLinear(inner, dim)));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  return net[2]->as<LoraLinear>()->forward(net[0]->as<GEGLU>()->forward(x));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t dim_head,
                                                     std::int64_t cross_attention_dim, bool upcast_attention,
                                                     bool only_cross_attention)
    : only_cross_attention(only_cross_attention) {
  auto layer_norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5).elementwise_affine(true));
  };
  norm1 = register_module("norm1", layer_norm());
  attn1 = register_module(
      "attn1", Attention(AttentionImpl::Options{
                   .query_dim = dim,
                   .cross_attention_dim = only_cross_attention ? std::optional(cross_attention_dim) : std::nullopt,
                   .heads = heads,
                   .dim_head = dim_head,
                   .upcast = upcast_attention}));
  norm2 = register_module("norm2", layer_norm());
  attn2 = register_module("attn2", Attention(AttentionImpl::Options{.query_dim = dim,
                                                                    .cross_attention_dim = cross_attention_dim,
                                                                    .heads = heads,
                                                                    .dim_head = dim_head,
                                                                    .upcast = upcast_attention}));
  norm3 = register_module("norm3", layer_norm());
  ff = register_module("ff", FeedForward(dim));
}

at::Tensor BasicTransformerBlockImpl::forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                                              const AttentionOptions& options) {
  at::Tensor h = hidden_states;
  h = attn1->forward(norm1->forward(h), only_cross_attention ? encoder_hidden_states : at::Tensor(), options) + h;
  h = attn2->forward(norm2->forward(h), encoder_hidden_states, options) + h;
  h = ff->forward(norm3->forward(h)) + h;
  return h;
}

Transformer2DModelImpl::Transformer2DModelImpl(const Options& o) : options(o) {
  const std::int64_t inner = o.heads * o.dim_head;
  norm = register_module("norm", group_norm(o.norm_groups, o.in_channels, 1e-6));
  if (o.use_linear_projection) {
    proj_in_linear = register_module("proj_in", LoraLinear(o.in_channels, inner));
  } else {
    proj_in_conv = register_module("proj_in", Conv2d(o.in_channels, inner, 1));
  }
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < o.num_layers; ++i) {
    transformer_blocks->push_back(BasicTransformerBlock(inner, o.heads, o.dim_head, o.cross_attention_dim,
                                                        o.upcast_attention, o.only_cross_attention));
  }
  if (o.use_linear_projection) {
    proj_out_linear = register_module("proj_out", LoraLinear(inner, o.in_channels));
  } else {
    proj_out_conv = register_module("proj_out", Conv2d(inner, o.in_channels, 1));
  }
}

at::Tensor Transformer2DModelImpl::forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                                           const AttentionOptions& attention_options) {
  const std::int64_t b = hidden_states.size(0), h = hidden_states.size(2), w = hidden_states.size(3);
  // 1. Normalise and project to tokens: (b, c, h, w) → (b, h·w, inner).
  at::Tensor x = norm->forward(hidden_states);
  if (options.use_linear_projection) {
    x = proj_in_linear->forward(x.permute({0, 2, 3, 1}).reshape({b, h * w, -1}));
  } else {
    x = proj_in_conv->forward(x);
    x = x.permute({0, 2, 3, 1}).reshape({b, h * w, -1});
  }
  // 2. Transformer blocks.
  for (const auto& block : *transformer_blocks) {
    x = block->as<BasicTransformerBlock>()->forward(x, encoder_hidden_states, attention_options);
  }
  // 3. Back to an image, plus the input.
  if (options.use_linear_projection) {
    x = proj_out_linear->forward(x).reshape({b, h, w, -1}).permute({0, 3, 1, 2}).contiguous();
  } else {
    x = proj_out_conv->forward(x.reshape({b, h, w, -1}).permute({0, 3, 1, 2}).contiguous());
  }
  return x + hidden_states;
}

}  // namespace pawtrait::models
