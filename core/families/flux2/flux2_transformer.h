#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cstdint>
#include <filesystem>
#include <utility>

#include "families/flux2/flux2_transformer_config.h"
#include "models/blocks.h"
#include "models/component_loader.h"
#include "models/lora_linear.h"
#include "models/rms_norm.h"

namespace pawtrait::families {

using models::LoraLinear;
using models::RMSNorm;

// The shared modulation of FLUX.2: SiLU → Linear(bias=False) on the time embedding, giving
// (shift, scale, gate) × `sets` vectors that every block of one kind uses.
struct Flux2ModulationImpl : torch::nn::Module {
  Flux2ModulationImpl(std::int64_t dim, std::int64_t sets);
  at::Tensor forward(const at::Tensor& temb);  // (b, 3·sets·dim)
  LoraLinear linear{nullptr};
};
TORCH_MODULE(Flux2Modulation);

// linear_in → SwiGLU (silu of the first half times the second) → linear_out, no biases.
struct Flux2FeedForwardImpl : torch::nn::Module {
  Flux2FeedForwardImpl(std::int64_t dim, std::int64_t hidden);
  at::Tensor forward(const at::Tensor& x);
  LoraLinear linear_in{nullptr}, linear_out{nullptr};
};
TORCH_MODULE(Flux2FeedForward);

// Joint attention of a double-stream block: image projections to_q/k/v, text projections
// add_q/k/v_proj, per-head RMSNorm on every query and key, one attention over [text; image]
// with the rotary positions, split back into to_out.0 (image) and to_add_out (text).
struct Flux2AttentionImpl : torch::nn::Module {
  Flux2AttentionImpl(std::int64_t dim, std::int64_t heads, std::int64_t head_dim, double eps);
  // Returns (image, text).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& image, const at::Tensor& text, const at::Tensor& cos,
                                            const at::Tensor& sin);
  LoraLinear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, add_q_proj{nullptr}, add_k_proj{nullptr}, add_v_proj{nullptr},
      to_add_out{nullptr};
  torch::nn::ModuleList to_out;  // [LoraLinear]; the reference's index 1 is a parameter-free Dropout
  RMSNorm norm_q{nullptr}, norm_k{nullptr}, norm_added_q{nullptr}, norm_added_k{nullptr};
  std::int64_t heads, head_dim;
  double eps;
};
TORCH_MODULE(Flux2Attention);

struct Flux2TransformerBlockImpl : torch::nn::Module {
  Flux2TransformerBlockImpl(const Flux2TransformerConfig& c);
  // Returns (text, image), as the reference does.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& image, const at::Tensor& text, const at::Tensor& mod_img,
                                            const at::Tensor& mod_txt, const at::Tensor& cos, const at::Tensor& sin);
  Flux2Attention attn{nullptr};
  Flux2FeedForward ff{nullptr}, ff_context{nullptr};
  double eps;
};
TORCH_MODULE(Flux2TransformerBlock);

// The "parallel" single-stream attention: one projection to [q | k | v | mlp-in], attention
// and SwiGLU side by side, one projection of [attention | mlp] back (Dehghani et al. 2023).
struct Flux2ParallelSelfAttentionImpl : torch::nn::Module {
  explicit Flux2ParallelSelfAttentionImpl(const Flux2TransformerConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
  LoraLinear to_qkv_mlp_proj{nullptr}, to_out{nullptr};
  RMSNorm norm_q{nullptr}, norm_k{nullptr};
  std::int64_t heads, head_dim, mlp_hidden;
  double eps;
};
TORCH_MODULE(Flux2ParallelSelfAttention);

struct Flux2SingleTransformerBlockImpl : torch::nn::Module {
  explicit Flux2SingleTransformerBlockImpl(const Flux2TransformerConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mod, const at::Tensor& cos, const at::Tensor& sin);
  Flux2ParallelSelfAttention attn{nullptr};
  double eps;
};
TORCH_MODULE(Flux2SingleTransformerBlock);

struct Flux2TimestepGuidanceEmbeddingsImpl : torch::nn::Module {
  Flux2TimestepGuidanceEmbeddingsImpl(std::int64_t channels, std::int64_t dim, bool guidance_embeds);
  at::Tensor forward(const at::Tensor& timestep, const at::Tensor& guidance);
  models::TimestepEmbedding timestep_embedder{nullptr}, guidance_embedder{nullptr};
  std::int64_t channels;
};
TORCH_MODULE(Flux2TimestepGuidanceEmbeddings);

// norm_out: LayerNorm without affine, then (1 + scale)·x + shift from SiLU → Linear of the
// time embedding; its chunks are (scale, shift), the other way round from the blocks'.
struct Flux2NormOutImpl : torch::nn::Module {
  Flux2NormOutImpl(std::int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb);
  LoraLinear linear{nullptr};
  double eps;
};
TORCH_MODULE(Flux2NormOut);

// FLUX.2's rectified-flow transformer (diffusers' Flux2Transformer2DModel): the image tokens
// (packed 2×2-patchified latents) and the text tokens (the stacked text-encoder states) go
// through double-stream blocks with joint attention, then single-stream blocks on [text; image],
// all modulated by one time embedding; the image tokens' velocity comes out. Module paths are
// the checkpoint keys.
struct Flux2Transformer2DModelImpl : torch::nn::Module {
  explicit Flux2Transformer2DModelImpl(const Flux2TransformerConfig& config);
  // hidden_states (b, n, in_channels), encoder_hidden_states (b, t, joint_attention_dim),
  // timestep (b) as σ (the model multiplies by 1000), img_ids (n, 4) or (b, n, 4) and txt_ids
  // (t, 4) or (b, t, 4) int64 (only the first sample's are used), guidance (b) or undefined.
  // Returns (b, n, out_channels).
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                     const at::Tensor& timestep, const at::Tensor& img_ids, const at::Tensor& txt_ids,
                     const at::Tensor& guidance = {});

  Flux2TransformerConfig config;
  // Recompute each block during backward instead of keeping its activations (training only).
  bool gradient_checkpointing = false;
  Flux2TimestepGuidanceEmbeddings time_guidance_embed{nullptr};
  Flux2Modulation double_stream_modulation_img{nullptr}, double_stream_modulation_txt{nullptr},
      single_stream_modulation{nullptr};
  LoraLinear x_embedder{nullptr}, context_embedder{nullptr}, proj_out{nullptr};
  torch::nn::ModuleList transformer_blocks, single_transformer_blocks;
  Flux2NormOut norm_out{nullptr};
};
TORCH_MODULE(Flux2Transformer2DModel);

// Flux2PosEmbed: for position ids (s, axes) the (s, Σ axes_dims) cos and sin tables, each
// axis's angles pos·θ^(-2i/d) in float64, cast to float32, every frequency twice
// (interleaved pairs).
std::pair<at::Tensor, at::Tensor> flux2_rotary_tables(const at::Tensor& ids, const std::vector<std::int64_t>& axes_dims,
                                                      double theta);

// A diffusers transformer/ folder (config.json and its safetensors, sharded or not).
Flux2Transformer2DModel load_flux2_transformer(const std::filesystem::path& component_dir,
                                               const models::ComponentLoadOptions& options = {});

}  // namespace pawtrait::families
