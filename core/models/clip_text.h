#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/clip_text_config.h"
#include "models/embedding.h"
#include "models/lora_linear.h"

namespace pawtrait::models {

struct CLIPTextOutput {
  at::Tensor last_hidden_state;           // (b, tokens, hidden): the SD prompt embeddings
  at::Tensor pooler_output;               // (b, hidden) at each prompt's end-of-text token
  at::Tensor text_embeds;                 // (b, projection_dim): the projected pooled output (with_projection)
  std::vector<at::Tensor> hidden_states;  // embeddings + every layer, before the final norm
};

struct CLIPAttentionImpl : torch::nn::Module {
  CLIPAttentionImpl(std::int64_t hidden, std::int64_t heads);
  at::Tensor forward(const at::Tensor& x);  // causal self-attention
  LoraLinear k_proj{nullptr}, v_proj{nullptr}, q_proj{nullptr}, out_proj{nullptr};
  std::int64_t heads;
};
TORCH_MODULE(CLIPAttention);

struct CLIPMLPImpl : torch::nn::Module {
  CLIPMLPImpl(std::int64_t hidden, std::int64_t intermediate, std::string act);
  at::Tensor forward(const at::Tensor& x);
  LoraLinear fc1{nullptr}, fc2{nullptr};
  std::string act;
};
TORCH_MODULE(CLIPMLP);

struct CLIPEncoderLayerImpl : torch::nn::Module {
  explicit CLIPEncoderLayerImpl(const CLIPTextConfig& c);
  at::Tensor forward(const at::Tensor& x);
  CLIPAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  CLIPMLP mlp{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

struct CLIPTextEmbeddingsImpl : torch::nn::Module {
  explicit CLIPTextEmbeddingsImpl(const CLIPTextConfig& c);
  at::Tensor forward(const at::Tensor& input_ids);
  Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(CLIPTextEmbeddings);

struct CLIPEncoderImpl : torch::nn::Module {
  explicit CLIPEncoderImpl(const CLIPTextConfig& c);
  torch::nn::ModuleList layers;
};
TORCH_MODULE(CLIPEncoder);

struct CLIPTextTransformerImpl : torch::nn::Module {
  explicit CLIPTextTransformerImpl(const CLIPTextConfig& c);
  CLIPTextEmbeddings embeddings{nullptr};
  CLIPEncoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(CLIPTextTransformer);

// CLIP's text transformer (Radford et al. 2021) in transformers' layout: token + position
// embeddings, pre-LN causal transformer layers, final LayerNorm. Module paths are the
// checkpoint keys ("text_model.encoder.layers.0.self_attn.q_proj.weight").
struct CLIPTextModelImpl : torch::nn::Module {
  explicit CLIPTextModelImpl(const CLIPTextConfig& config);
  // clip_skip > 0 takes the hidden state that many layers before the last, through the final
  // LayerNorm, as the reference pipelines' clip_skip does (1 = the penultimate layer).
  CLIPTextOutput forward(const at::Tensor& input_ids, std::int64_t clip_skip = 0, bool keep_hidden_states = false);

  CLIPTextConfig config;
  CLIPTextTransformer text_model{nullptr};
  LoraLinear text_projection{nullptr};  // CLIPTextModelWithProjection only
};
TORCH_MODULE(CLIPTextModel);

}  // namespace pawtrait::models
