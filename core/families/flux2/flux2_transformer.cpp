#include "families/flux2/flux2_transformer.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "common/error.h"
#include "common/json_file.h"
#include "models/gradient_checkpoint.h"
#include "models/weight_init.h"

namespace pawtrait::families {
namespace {

LoraLinear linear(std::int64_t in, std::int64_t out) { return LoraLinear(in, out, /*bias=*/false); }

// torch.nn.RMSNorm, as the reference's QK norms are (F.rms_norm's own arithmetic).
at::Tensor rms_norm(const RMSNorm& norm, const at::Tensor& x) {
  return at::rms_norm(x, {x.size(-1)}, norm->weight, norm->eps);
}

at::Tensor layer_norm(const at::Tensor& x, double eps) { return at::layer_norm(x, {x.size(-1)}, {}, {}, eps); }

// apply_rotary_emb (use_real, unbind dim -1) on (b, s, heads, d): pairs (x0, x1) turn to
// (x0 cos - x1 sin, x1 cos + x0 sin), in float32.
at::Tensor rotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const at::Tensor pairs = x.reshape({x.size(0), x.size(1), x.size(2), -1, 2});
  const at::Tensor rotated = at::stack({-pairs.select(-1, 1), pairs.select(-1, 0)}, -1).flatten(3);
  const at::Tensor c = cos.view({1, cos.size(0), 1, cos.size(1)});
  const at::Tensor s = sin.view({1, sin.size(0), 1, sin.size(1)});
  return (x.to(at::kFloat) * c + rotated.to(at::kFloat) * s).to(x.scalar_type());
}

// Attention over (b, s, heads, d) queries, keys and values; (b, s, heads·d) out.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const at::Tensor out = at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
  return out.transpose(1, 2).flatten(2, 3).to(q.scalar_type());
}

// Flux2Modulation.split: (b, 3·sets·dim) -> 3·sets chunks of (b, 1, dim).
std::vector<at::Tensor> split_modulation(const at::Tensor& mod, std::int64_t sets) {
  return (mod.dim() == 2 ? mod.unsqueeze(1) : mod).chunk(3 * sets, -1);
}

at::Tensor swiglu(const at::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return at::silu(x.slice(-1, 0, half)) * x.slice(-1, half);
}

}  // namespace

Flux2ModulationImpl::Flux2ModulationImpl(std::int64_t dim, std::int64_t sets) {
  linear = register_module("linear", families::linear(dim, dim * 3 * sets));
}

at::Tensor Flux2ModulationImpl::forward(const at::Tensor& temb) { return linear->forward(at::silu(temb)); }

Flux2FeedForwardImpl::Flux2FeedForwardImpl(std::int64_t dim, std::int64_t hidden) {
  linear_in = register_module("linear_in", linear(dim, hidden * 2));
  linear_out = register_module("linear_out", linear(hidden, dim));
}

at::Tensor Flux2FeedForwardImpl::forward(const at::Tensor& x) {
  return linear_out->forward(swiglu(linear_in->forward(x)));
}

Flux2AttentionImpl::Flux2AttentionImpl(std::int64_t dim, std::int64_t heads, std::int64_t head_dim, double eps)
    : heads(heads), head_dim(head_dim), eps(eps) {
  const std::int64_t inner = heads * head_dim;
  to_q = register_module("to_q", linear(dim, inner));
  to_k = register_module("to_k", linear(dim, inner));
  to_v = register_module("to_v", linear(dim, inner));
  norm_q = register_module("norm_q", RMSNorm(head_dim, eps));
  norm_k = register_module("norm_k", RMSNorm(head_dim, eps));
  to_out = register_module("to_out", torch::nn::ModuleList());
  to_out->push_back(linear(inner, dim));
  norm_added_q = register_module("norm_added_q", RMSNorm(head_dim, eps));
  norm_added_k = register_module("norm_added_k", RMSNorm(head_dim, eps));
  add_q_proj = register_module("add_q_proj", linear(dim, inner));
  add_k_proj = register_module("add_k_proj", linear(dim, inner));
  add_v_proj = register_module("add_v_proj", linear(dim, inner));
  to_add_out = register_module("to_add_out", linear(inner, dim));
}

std::pair<at::Tensor, at::Tensor> Flux2AttentionImpl::forward(const at::Tensor& image, const at::Tensor& text,
                                                              const at::Tensor& cos, const at::Tensor& sin) {
  const auto heads_of = [&](const at::Tensor& x) { return x.unflatten(-1, {-1, head_dim}); };
  // 1. Projections per stream, each query and key head RMS-normalised.
  const at::Tensor q = rms_norm(norm_q, heads_of(to_q->forward(image)));
  const at::Tensor k = rms_norm(norm_k, heads_of(to_k->forward(image)));
  const at::Tensor v = heads_of(to_v->forward(image));
  const at::Tensor tq = rms_norm(norm_added_q, heads_of(add_q_proj->forward(text)));
  const at::Tensor tk = rms_norm(norm_added_k, heads_of(add_k_proj->forward(text)));
  const at::Tensor tv = heads_of(add_v_proj->forward(text));
  // 2. One attention over [text; image] with the rotary positions.
  const at::Tensor joint =
      attend(rotate(at::cat({tq, q}, 1), cos, sin), rotate(at::cat({tk, k}, 1), cos, sin), at::cat({tv, v}, 1));
  // 3. Split back: (b, t, inner) text, (b, n, inner) image.
  const std::int64_t t = text.size(1);
  const at::Tensor text_out = to_add_out->forward(joint.slice(1, 0, t));
  const at::Tensor image_out = to_out[0]->as<models::LoraLinear>()->forward(joint.slice(1, t));
  return {image_out, text_out};
}

Flux2TransformerBlockImpl::Flux2TransformerBlockImpl(const Flux2TransformerConfig& c) : eps(c.eps) {
  attn = register_module("attn", Flux2Attention(c.inner_dim(), c.num_attention_heads, c.attention_head_dim, c.eps));
  ff = register_module("ff", Flux2FeedForward(c.inner_dim(), c.mlp_hidden_dim()));
  ff_context = register_module("ff_context", Flux2FeedForward(c.inner_dim(), c.mlp_hidden_dim()));
}

std::pair<at::Tensor, at::Tensor> Flux2TransformerBlockImpl::forward(const at::Tensor& image, const at::Tensor& text,
                                                                     const at::Tensor& mod_img,
                                                                     const at::Tensor& mod_txt, const at::Tensor& cos,
                                                                     const at::Tensor& sin) {
  // (shift, scale, gate) for attention, then for the MLP, per stream.
  const std::vector<at::Tensor> m = split_modulation(mod_img, 2);
  const std::vector<at::Tensor> c = split_modulation(mod_txt, 2);
  // 1. Joint attention on the modulated, normalised streams.
  const at::Tensor norm_image = (1 + m[1]) * layer_norm(image, eps) + m[0];
  const at::Tensor norm_text = (1 + c[1]) * layer_norm(text, eps) + c[0];
  auto [attn_image, attn_text] = attn->forward(norm_image, norm_text, cos, sin);
  // 2. Image stream: gated attention, then the gated MLP.
  at::Tensor img = image + m[2] * attn_image;
  img = img + m[5] * ff->forward(layer_norm(img, eps) * (1 + m[4]) + m[3]);
  // 3. Text stream likewise.
  at::Tensor txt = text + c[2] * attn_text;
  txt = txt + c[5] * ff_context->forward(layer_norm(txt, eps) * (1 + c[4]) + c[3]);
  if (txt.scalar_type() == at::kHalf) txt = txt.clip(-65504, 65504);
  return {txt, img};
}

Flux2ParallelSelfAttentionImpl::Flux2ParallelSelfAttentionImpl(const Flux2TransformerConfig& c)
    : heads(c.num_attention_heads), head_dim(c.attention_head_dim), mlp_hidden(c.mlp_hidden_dim()), eps(c.eps) {
  const std::int64_t inner = c.inner_dim();
  to_qkv_mlp_proj = register_module("to_qkv_mlp_proj", linear(inner, inner * 3 + mlp_hidden * 2));
  norm_q = register_module("norm_q", RMSNorm(head_dim, eps));
  norm_k = register_module("norm_k", RMSNorm(head_dim, eps));
  to_out = register_module("to_out", linear(inner + mlp_hidden, inner));
}

at::Tensor Flux2ParallelSelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const std::int64_t inner = heads * head_dim;
  // 1. One projection: [q | k | v] and the MLP's input.
  const at::Tensor projected = to_qkv_mlp_proj->forward(x);
  const std::vector<at::Tensor> qkv = projected.slice(-1, 0, 3 * inner).chunk(3, -1);
  const at::Tensor mlp = projected.slice(-1, 3 * inner);
  const auto heads_of = [&](const at::Tensor& t) { return t.unflatten(-1, {-1, head_dim}); };
  // 2. Attention and SwiGLU side by side.
  const at::Tensor q = rotate(rms_norm(norm_q, heads_of(qkv[0])), cos, sin);
  const at::Tensor k = rotate(rms_norm(norm_k, heads_of(qkv[1])), cos, sin);
  const at::Tensor attention = attend(q, k, heads_of(qkv[2]));
  // 3. One projection back.
  return to_out->forward(at::cat({attention, swiglu(mlp)}, -1));
}

Flux2SingleTransformerBlockImpl::Flux2SingleTransformerBlockImpl(const Flux2TransformerConfig& c) : eps(c.eps) {
  attn = register_module("attn", Flux2ParallelSelfAttention(c));
}

at::Tensor Flux2SingleTransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& mod, const at::Tensor& cos,
                                                    const at::Tensor& sin) {
  const std::vector<at::Tensor> m = split_modulation(mod, 1);  // shift, scale, gate
  at::Tensor out = x + m[2] * attn->forward((1 + m[1]) * layer_norm(x, eps) + m[0], cos, sin);
  if (out.scalar_type() == at::kHalf) out = out.clip(-65504, 65504);
  return out;
}

Flux2TimestepGuidanceEmbeddingsImpl::Flux2TimestepGuidanceEmbeddingsImpl(std::int64_t channels, std::int64_t dim,
                                                                         bool guidance_embeds)
    : channels(channels) {
  timestep_embedder = register_module("timestep_embedder", models::TimestepEmbedding(channels, dim, /*bias=*/false));
  if (guidance_embeds) {
    guidance_embedder = register_module("guidance_embedder", models::TimestepEmbedding(channels, dim, /*bias=*/false));
  }
}

at::Tensor Flux2TimestepGuidanceEmbeddingsImpl::forward(const at::Tensor& timestep, const at::Tensor& guidance) {
  const auto embed = [&](models::TimestepEmbedding& embedder, const at::Tensor& t) {
    const at::Tensor projected = models::timestep_embedding(t, channels, /*flip_sin_to_cos=*/true, /*freq_shift=*/0);
    return embedder->forward(projected.to(t.scalar_type()));
  };
  at::Tensor temb = embed(timestep_embedder, timestep);
  if (guidance.defined() && !guidance_embedder.is_empty()) temb = temb + embed(guidance_embedder, guidance);
  return temb;
}

Flux2NormOutImpl::Flux2NormOutImpl(std::int64_t dim, double eps) : eps(eps) {
  linear = register_module("linear", families::linear(dim, dim * 2));
}

at::Tensor Flux2NormOutImpl::forward(const at::Tensor& x, const at::Tensor& temb) {
  const std::vector<at::Tensor> scale_shift = linear->forward(at::silu(temb).to(x.scalar_type())).chunk(2, 1);
  return layer_norm(x, eps) * (1 + scale_shift[0]).unsqueeze(1) + scale_shift[1].unsqueeze(1);
}

std::pair<at::Tensor, at::Tensor> flux2_rotary_tables(const at::Tensor& ids, const std::vector<std::int64_t>& axes_dims,
                                                      double theta) {
  const at::Tensor pos = ids.to(at::kFloat);
  const auto f64 = at::TensorOptions().dtype(at::kDouble).device(ids.device());
  std::vector<at::Tensor> cos, sin;
  for (std::size_t i = 0; i < axes_dims.size(); ++i) {
    const auto d = axes_dims[i];
    const at::Tensor freqs = 1.0 / at::pow(theta, at::arange(0, d, 2, f64) / static_cast<double>(d));  // (d/2)
    const at::Tensor angles = pos.select(-1, static_cast<std::int64_t>(i)).to(at::kDouble).unsqueeze(-1) * freqs;
    cos.push_back(angles.cos().repeat_interleave(2, -1).to(at::kFloat));
    sin.push_back(angles.sin().repeat_interleave(2, -1).to(at::kFloat));
  }
  return {at::cat(cos, -1), at::cat(sin, -1)};
}

Flux2Transformer2DModelImpl::Flux2Transformer2DModelImpl(const Flux2TransformerConfig& c) : config(c) {
  const std::int64_t inner = c.inner_dim();
  time_guidance_embed = register_module(
      "time_guidance_embed", Flux2TimestepGuidanceEmbeddings(c.timestep_guidance_channels, inner, c.guidance_embeds));
  double_stream_modulation_img = register_module("double_stream_modulation_img", Flux2Modulation(inner, 2));
  double_stream_modulation_txt = register_module("double_stream_modulation_txt", Flux2Modulation(inner, 2));
  single_stream_modulation = register_module("single_stream_modulation", Flux2Modulation(inner, 1));
  x_embedder = register_module("x_embedder", linear(c.in_channels, inner));
  context_embedder = register_module("context_embedder", linear(c.joint_attention_dim, inner));
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_layers; ++i) transformer_blocks->push_back(Flux2TransformerBlock(c));
  single_transformer_blocks = register_module("single_transformer_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_single_layers; ++i) {
    single_transformer_blocks->push_back(Flux2SingleTransformerBlock(c));
  }
  norm_out = register_module("norm_out", Flux2NormOut(inner, c.eps));
  proj_out = register_module("proj_out", linear(inner, c.out_channels));
}

at::Tensor Flux2Transformer2DModelImpl::forward(const at::Tensor& hidden_states,
                                                const at::Tensor& encoder_hidden_states, const at::Tensor& timestep,
                                                const at::Tensor& img_ids, const at::Tensor& txt_ids,
                                                const at::Tensor& guidance) {
  if (hidden_states.size(-1) != config.in_channels) {
    throw Error("the transformer takes " + std::to_string(config.in_channels) + " channels per image token, got " +
                std::to_string(hidden_states.size(-1)));
  }
  if (encoder_hidden_states.size(-1) != config.joint_attention_dim) {
    throw Error("the transformer takes text embeddings " + std::to_string(config.joint_attention_dim) + " wide, got " +
                std::to_string(encoder_hidden_states.size(-1)) +
                " (check --text-encoder-layers: layers × the text encoder's width must match)");
  }
  // 1. Time (and guidance) embedding and the shared modulations.
  const at::ScalarType dtype = hidden_states.scalar_type();
  const at::Tensor temb = time_guidance_embed->forward(timestep.to(dtype) * 1000,
                                                       guidance.defined() ? guidance.to(dtype) * 1000 : at::Tensor());
  const at::Tensor mod_img = double_stream_modulation_img->forward(temb);
  const at::Tensor mod_txt = double_stream_modulation_txt->forward(temb);
  const at::Tensor mod_single = single_stream_modulation->forward(temb);
  // 2. Token embeddings and the rotary tables of [text; image] (the first sample's ids).
  at::Tensor image = x_embedder->forward(hidden_states);
  at::Tensor text = context_embedder->forward(encoder_hidden_states);
  const at::Tensor ids =
      at::cat({txt_ids.dim() == 3 ? txt_ids[0] : txt_ids, img_ids.dim() == 3 ? img_ids[0] : img_ids}, 0);
  const auto [cos, sin] = flux2_rotary_tables(ids, config.axes_dims_rope, config.rope_theta);
  const bool checkpoint = gradient_checkpointing && at::GradMode::is_enabled();
  const std::int64_t t = text.size(1);
  // 3. Double-stream blocks.
  for (const auto& block : *transformer_blocks) {
    auto* b = block->as<Flux2TransformerBlock>();
    if (checkpoint) {
      // One checkpointed call per block: its two outputs travel as one [text; image] tensor.
      // The function is run again in the backward pass, after this forward has returned: it
      // holds its own handles to the block and the tensors, never references to these locals.
      const at::Tensor joint = models::checkpointed(
          [b, mod_img, mod_txt, rope_cos = cos, rope_sin = sin](const at::Tensor& img, const at::Tensor& txt) {
            auto [txt_out, img_out] = b->forward(img, txt, mod_img, mod_txt, rope_cos, rope_sin);
            return at::cat({txt_out, img_out}, 1);
          },
          image, text, b->parameters());
      text = joint.slice(1, 0, t);
      image = joint.slice(1, t);
    } else {
      std::tie(text, image) = b->forward(image, text, mod_img, mod_txt, cos, sin);
    }
  }
  // 4. Single-stream blocks on [text; image], then the text tokens dropped.
  at::Tensor joint = at::cat({text, image}, 1);
  for (const auto& block : *single_transformer_blocks) {
    auto* b = block->as<Flux2SingleTransformerBlock>();
    joint = checkpoint ? models::checkpointed(
                             [b, mod_single, rope_cos = cos, rope_sin = sin](const at::Tensor& x, const at::Tensor&) {
                               return b->forward(x, mod_single, rope_cos, rope_sin);
                             },
                             joint, {}, b->parameters())
                       : b->forward(joint, mod_single, cos, sin);
  }
  image = joint.slice(1, text.size(1));
  // 5. Output norm and projection: (b, n, out_channels).
  return proj_out->forward(norm_out->forward(image, temb));
}

Flux2Transformer2DModel load_flux2_transformer(const std::filesystem::path& dir,
                                               const models::ComponentLoadOptions& options) {
  const std::filesystem::path file = dir / "config.json";
  if (!std::filesystem::exists(file)) {
    throw Error(dir.string() + " has no config.json; is it the transformer/ folder of a FLUX.2 model?");
  }
  const Flux2TransformerConfig config = Flux2TransformerConfig::from_json(read_json_file(file), file.string());
  Flux2Transformer2DModel model{nullptr};
  try {
    models::SkipWeightInit loaded_next;
    model = Flux2Transformer2DModel(config);
  } catch (const c10::Error& e) {
    throw Error(file.string() + " describes a model that cannot be built: " + e.what_without_backtrace());
  }
  models::fill_component(*model, dir, options);
  return model;
}

}  // namespace pawtrait::families
