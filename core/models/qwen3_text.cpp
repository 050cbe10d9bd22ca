#include "models/qwen3_text.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>

#include "common/error.h"

namespace pawtrait::models {
namespace {

at::Tensor rotate_half(const at::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> qwen3_rotary_tables(const Qwen3Config& config, std::int64_t n,
                                                      const at::TensorOptions& options) {
  const auto f32 = options.dtype(at::kFloat);
  // 1 / θ^(arange(0, d, 2) / d), in float32 as the reference computes it.
  const at::Tensor exponents =
      at::arange(0, config.head_dim, 2, f32.dtype(at::kLong)).to(at::kFloat) / static_cast<double>(config.head_dim);
  const at::Tensor inv_freq = 1.0 / at::pow(config.rope_theta, exponents);
  const at::Tensor positions = at::arange(n, f32.dtype(at::kLong)).to(at::kFloat);
  const at::Tensor freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);  // (n, d/2)
  const at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(options.dtype()), emb.sin().to(options.dtype())};
}

Qwen3AttentionImpl::Qwen3AttentionImpl(const Qwen3Config& c)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim) {
  q_proj = register_module("q_proj", LoraLinear(c.hidden_size, heads * head_dim, c.attention_bias));
  k_proj = register_module("k_proj", LoraLinear(c.hidden_size, kv_heads * head_dim, c.attention_bias));
  v_proj = register_module("v_proj", LoraLinear(c.hidden_size, kv_heads * head_dim, c.attention_bias));
  o_proj = register_module("o_proj", LoraLinear(heads * head_dim, c.hidden_size, c.attention_bias));
  q_norm = register_module("q_norm", RMSNorm(head_dim, c.rms_norm_eps));
  k_norm = register_module("k_norm", RMSNorm(head_dim, c.rms_norm_eps));
}

at::Tensor Qwen3AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                       const at::Tensor& mask) {
  const std::int64_t b = x.size(0), n = x.size(1);
  // 1. Projections to heads (b, heads, n, head_dim), each head RMS-normalised.
  const at::Tensor q = q_norm->forward(q_proj->forward(x).view({b, n, heads, head_dim})).transpose(1, 2);
  const at::Tensor k = k_norm->forward(k_proj->forward(x).view({b, n, kv_heads, head_dim})).transpose(1, 2);
  at::Tensor v = v_proj->forward(x).view({b, n, kv_heads, head_dim}).transpose(1, 2);
  // 2. Rotary positions.
  const at::Tensor q_rot = q * cos + rotate_half(q) * sin;
  at::Tensor k_rot = k * cos + rotate_half(k) * sin;
  // 3. Each key/value head serves heads / kv_heads consecutive query heads (repeat_kv).
  if (kv_heads != heads) {
    k_rot = k_rot.repeat_interleave(heads / kv_heads, 1);
    v = v.repeat_interleave(heads / kv_heads, 1);
  }
  const at::Tensor out = at::scaled_dot_product_attention(q_rot, k_rot, v, mask, /*dropout_p=*/0.0,
                                                          /*is_causal=*/false);
  return o_proj->forward(out.transpose(1, 2).reshape({b, n, heads * head_dim}));
}

Qwen3MLPImpl::Qwen3MLPImpl(const Qwen3Config& c) {
  gate_proj = register_module("gate_proj", LoraLinear(c.hidden_size, c.intermediate_size, /*bias=*/false));
  up_proj = register_module("up_proj", LoraLinear(c.hidden_size, c.intermediate_size, /*bias=*/false));
  down_proj = register_module("down_proj", LoraLinear(c.intermediate_size, c.hidden_size, /*bias=*/false));
}

at::Tensor Qwen3MLPImpl::forward(const at::Tensor& x) {
  return down_proj->forward(at::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

Qwen3DecoderLayerImpl::Qwen3DecoderLayerImpl(const Qwen3Config& c) {
  self_attn = register_module("self_attn", Qwen3Attention(c));
  mlp = register_module("mlp", Qwen3MLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor Qwen3DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                          const at::Tensor& mask) {
  const at::Tensor h = x + self_attn->forward(input_layernorm->forward(x), cos, sin, mask);
  return h + mlp->forward(post_attention_layernorm->forward(h));
}

Qwen3ModelImpl::Qwen3ModelImpl(const Qwen3Config& c, std::int64_t depth) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < depth; ++i) layers->push_back(Qwen3DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

Qwen3TextModelImpl::Qwen3TextModelImpl(const Qwen3Config& c, std::int64_t depth) : config(c), depth(depth) {
  if (depth < 0 || depth > c.num_hidden_layers) {
    throw Error("the text encoder has " + std::to_string(c.num_hidden_layers) + " layers; cannot build " +
                std::to_string(depth));
  }
  model = register_module("model", Qwen3Model(c, depth));
}

std::vector<at::Tensor> Qwen3TextModelImpl::hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                                          const std::vector<std::int64_t>& wanted) {
  std::int64_t deepest = 0;
  for (const std::int64_t k : wanted) {
    if (k < 0 || k > config.num_hidden_layers) {
      throw Error("text-encoder layer " + std::to_string(k) + " does not exist: this Qwen3 text encoder has " +
                  std::to_string(config.num_hidden_layers) + " layers (hidden states 0.." +
                  std::to_string(config.num_hidden_layers) + ")");
    }
    deepest = std::max(deepest, k);
  }
  const std::int64_t run = std::min(deepest, config.num_hidden_layers);
  if (run > depth) {
    throw Error("text-encoder layer " + std::to_string(deepest) + " was asked for, but only " + std::to_string(depth) +
                " layers were loaded");
  }
  const std::int64_t n = input_ids.size(1);
  if (n > config.max_position_embeddings) {
    throw Error("the prompt has " + std::to_string(n) + " tokens; this text encoder takes at most " +
                std::to_string(config.max_position_embeddings));
  }
  at::Tensor h = model->embed_tokens->forward(input_ids);
  const auto [cos, sin] = qwen3_rotary_tables(config, n, h.options());
  // Causal and key-padding: query i sees key j <= i where the key is a real token.
  const at::Tensor causal = at::ones({n, n}, input_ids.options().dtype(at::kBool)).tril();
  const at::Tensor keys = attention_mask.to(at::kBool).view({input_ids.size(0), 1, 1, n});
  const at::Tensor mask = causal.view({1, 1, n, n}) & keys;

  // Only the states asked for are kept: at Qwen3-4B's size each is 5 MB per prompt, and a
  // pipeline reads 3 of 37.
  std::vector<at::Tensor> out(wanted.size());
  const auto keep = [&](std::int64_t k, const at::Tensor& state) {
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (wanted[i] == k) out[i] = state;
    }
  };
  keep(0, h);
  for (std::int64_t i = 0; i < run; ++i) {
    h = model->layers[static_cast<std::size_t>(i)]->as<Qwen3DecoderLayer>()->forward(h, cos, sin, mask);
    // transformers 5 puts the final norm's output in the last slot.
    keep(i + 1, i + 1 == config.num_hidden_layers ? model->norm->forward(h) : h);
  }
  return out;
}

}  // namespace pawtrait::models
