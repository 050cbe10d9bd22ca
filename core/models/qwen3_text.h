#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include "models/component_loader.h"
#include "models/embedding.h"
#include "models/lora_linear.h"
#include "models/qwen3_config.h"
#include "models/rms_norm.h"

namespace pawtrait::models {

// Grouped-query self-attention with per-head RMSNorm on queries and keys and rotary
// positions (rotate-half form), as transformers' Qwen3Attention.
struct Qwen3AttentionImpl : torch::nn::Module {
  explicit Qwen3AttentionImpl(const Qwen3Config& c);
  // x (b, n, hidden); cos/sin (n, head_dim); mask (b, 1, n, n) bool, true = may attend.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask);

  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  std::int64_t heads, kv_heads, head_dim;
};
TORCH_MODULE(Qwen3Attention);

// SwiGLU (Shazeer 2020): down(silu(gate(x)) · up(x)).
struct Qwen3MLPImpl : torch::nn::Module {
  explicit Qwen3MLPImpl(const Qwen3Config& c);
  at::Tensor forward(const at::Tensor& x);
  LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Qwen3MLP);

struct Qwen3DecoderLayerImpl : torch::nn::Module {
  explicit Qwen3DecoderLayerImpl(const Qwen3Config& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Qwen3Attention self_attn{nullptr};
  Qwen3MLP mlp{nullptr};
};
TORCH_MODULE(Qwen3DecoderLayer);

struct Qwen3ModelImpl : torch::nn::Module {
  Qwen3ModelImpl(const Qwen3Config& c, std::int64_t depth);
  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Qwen3Model);

// The decoder stack of Qwen3ForCausalLM used as a text encoder (FLUX.2 [klein]): token
// embeddings, pre-norm decoder layers with a causal mask and the padding mask, the final
// RMSNorm; no LM head (a text encoder reads hidden states, not logits). Built only `depth`
// layers deep (the deepest hidden state wanted), so the layers beyond are never loaded.
// Module paths are the checkpoint keys ("model.layers.0.self_attn.q_proj.weight").
struct Qwen3TextModelImpl : torch::nn::Module {
  Qwen3TextModelImpl(const Qwen3Config& config, std::int64_t depth);
  explicit Qwen3TextModelImpl(const Qwen3Config& config) : Qwen3TextModelImpl(config, config.num_hidden_layers) {}

  // transformers' output_hidden_states for the indices in `layers`, in that order:
  // hidden_states[0] is the embeddings, hidden_states[k] the output of decoder layer k, and
  // hidden_states[num_hidden_layers] the final RMSNorm's output (transformers 5 puts the last
  // state there). input_ids and attention_mask (1 = real token) are (b, n) int64; positions
  // run 0..n-1 whatever the mask. Throws pawtrait::Error for an index beyond the built depth.
  std::vector<at::Tensor> hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                        const std::vector<std::int64_t>& layers);

  Qwen3Config config;
  std::int64_t depth;
  Qwen3Model model{nullptr};
};
TORCH_MODULE(Qwen3TextModel);

// Qwen3RotaryEmbedding's tables for positions 0..n-1: (n, head_dim) cos and sin, the inverse
// frequencies θ^(-2i/d) and their products with the positions in float32, each frequency
// twice (rotate-half layout).
std::pair<at::Tensor, at::Tensor> qwen3_rotary_tables(const Qwen3Config& config, std::int64_t n,
                                                      const at::TensorOptions& options);

// A diffusers text_encoder/ folder's Qwen3 built and loaded only `depth` layers deep: the
// deepest hidden state the pipeline reads; the layers beyond stay on disk. (Defined with the
// other loaders in component_loader.cpp.)
Qwen3TextModel load_qwen3_text_encoder(const std::filesystem::path& component_dir, std::int64_t depth,
                                       const ComponentLoadOptions& options = {});

}  // namespace pawtrait::models
