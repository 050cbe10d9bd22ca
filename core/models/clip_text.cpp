#include "models/clip_text.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/json_file.h"
#include "models/attention.h"
#include "models/config_fields.h"

namespace pawtrait::models {

CLIPAttentionImpl::CLIPAttentionImpl(std::int64_t hidden, std::int64_t heads) : heads(heads) {
  k_proj = register_module("k_proj", LoraLinear(hidden, hidden));
  v_proj = register_module("v_proj", LoraLinear(hidden, hidden));
  q_proj = register_module("q_proj", LoraLinear(hidden, hidden));
  out_proj = register_module("out_proj", LoraLinear(hidden, hidden));
}

at::Tensor CLIPAttentionImpl::forward(const at::Tensor& x) {
  const std::int64_t b = x.size(0), n = x.size(1), d = x.size(2) / heads;
  auto split = [&](const at::Tensor& t) { return t.view({b, n, heads, d}).transpose(1, 2); };
  // Each token sees itself and the tokens before it; padding is not masked (SD never did).
  at::Tensor out = attention(split(q_proj->forward(x)), split(k_proj->forward(x)), split(v_proj->forward(x)),
                             /*upcast=*/false, AttentionOptions{}, /*causal=*/true);
  return out_proj->forward(out.transpose(1, 2).reshape({b, n, heads * d}));
}

CLIPMLPImpl::CLIPMLPImpl(std::int64_t hidden, std::int64_t intermediate, std::string act) : act(std::move(act)) {
  fc1 = register_module("fc1", LoraLinear(hidden, intermediate));
  fc2 = register_module("fc2", LoraLinear(intermediate, hidden));
}

at::Tensor CLIPMLPImpl::forward(const at::Tensor& x) {
  at::Tensor h = fc1->forward(x);
  // quick_gelu, x·σ(1.702x), is what OpenAI's CLIP was trained with; SD 2.x's uses gelu.
  h = act == "quick_gelu" ? h * at::sigmoid(1.702 * h) : at::gelu(h);
  return fc2->forward(h);
}

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const CLIPTextConfig& c) {
  auto norm = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)); };
  self_attn = register_module("self_attn", CLIPAttention(c.hidden_size, c.num_attention_heads));
  layer_norm1 = register_module("layer_norm1", norm());
  mlp = register_module("mlp", CLIPMLP(c.hidden_size, c.intermediate_size, c.hidden_act));
  layer_norm2 = register_module("layer_norm2", norm());
}

at::Tensor CLIPEncoderLayerImpl::forward(const at::Tensor& x) {
  at::Tensor h = x + self_attn->forward(layer_norm1->forward(x));
  return h + mlp->forward(layer_norm2->forward(h));
}

CLIPTextEmbeddingsImpl::CLIPTextEmbeddingsImpl(const CLIPTextConfig& c) {
  token_embedding = register_module("token_embedding", Embedding(c.vocab_size, c.hidden_size));
  position_embedding = register_module("position_embedding", Embedding(c.max_position_embeddings, c.hidden_size));
}

at::Tensor CLIPTextEmbeddingsImpl::forward(const at::Tensor& input_ids) {
  const at::Tensor positions = at::arange(input_ids.size(1), input_ids.options().dtype(at::kLong));
  return token_embedding->forward(input_ids) + position_embedding->forward(positions).unsqueeze(0);
}

CLIPEncoderImpl::CLIPEncoderImpl(const CLIPTextConfig& c) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(CLIPEncoderLayer(c));
}

CLIPTextTransformerImpl::CLIPTextTransformerImpl(const CLIPTextConfig& c) {
  embeddings = register_module("embeddings", CLIPTextEmbeddings(c));
  encoder = register_module("encoder", CLIPEncoder(c));
  final_layer_norm = register_module(
      "final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

CLIPTextModelImpl::CLIPTextModelImpl(const CLIPTextConfig& c) : config(c) {
  text_model = register_module("text_model", CLIPTextTransformer(c));
  if (c.with_projection) {
    text_projection = register_module("text_projection", LoraLinear(c.hidden_size, c.projection_dim, /*bias=*/false));
  }
}

CLIPTextOutput CLIPTextModelImpl::forward(const at::Tensor& input_ids, std::int64_t clip_skip,
                                          bool keep_hidden_states) {
  const std::int64_t layers = config.num_hidden_layers;
  if (clip_skip < 0 || clip_skip >= layers) {
    throw Error("clip_skip must be between 0 and " + std::to_string(layers - 1) + " for this text encoder; got " +
                std::to_string(clip_skip));
  }
  if (input_ids.size(1) > config.max_position_embeddings) {
    throw Error("the prompt has " + std::to_string(input_ids.size(1)) + " tokens; this text encoder takes at most " +
                std::to_string(config.max_position_embeddings));
  }
  CLIPTextOutput out;
  at::Tensor h = text_model->embeddings->forward(input_ids);
  if (keep_hidden_states) out.hidden_states.push_back(h);
  at::Tensor skipped;
  for (std::int64_t i = 0; i < layers; ++i) {
    h = text_model->encoder->layers[i]->as<CLIPEncoderLayer>()->forward(h);
    if (keep_hidden_states) out.hidden_states.push_back(h);
    // hidden_states[-(clip_skip + 1)] is the output of layer (layers - clip_skip - 1), 0-based.
    if (clip_skip > 0 && i == layers - clip_skip - 1) skipped = h;
  }
  const at::Tensor final_state = text_model->final_layer_norm->forward(h);
  out.last_hidden_state = clip_skip > 0 ? text_model->final_layer_norm->forward(skipped) : final_state;
  // The pooled output sits at the end-of-text token. Configs with eos_token_id 2 (all SD
  // ones) predate that id being right, and the reference takes the largest id instead.
  const at::Tensor eos =
      config.eos_token_id == 2 ? input_ids.argmax(-1) : (input_ids == config.eos_token_id).to(at::kInt).argmax(-1);
  out.pooler_output = final_state.index({at::arange(input_ids.size(0), eos.options()), eos});
  if (!text_projection.is_empty()) out.text_embeds = text_projection->forward(out.pooler_output);
  return out;
}

}  // namespace pawtrait::models
