#include "models/unet2d_condition.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "common/error.h"
#include "common/json_file.h"
#include "models/config_fields.h"
#include "models/gradient_checkpoint.h"

namespace pawtrait::models {

namespace {

Transformer2DModel make_transformer(const UNet2DConditionConfig& c, std::int64_t channels, std::int64_t heads,
                                    std::int64_t layers) {
  if (channels % heads != 0) {
    throw Error("UNet config: " + std::to_string(channels) + " channels do not split into " + std::to_string(heads) +
                " attention heads");
  }
  return Transformer2DModel(Transformer2DModelImpl::Options{.heads = heads,
                                                            .dim_head = channels / heads,
                                                            .in_channels = channels,
                                                            .num_layers = layers,
                                                            .cross_attention_dim = c.cross_attention_dim,
                                                            .norm_groups = c.norm_num_groups,
                                                            .use_linear_projection = c.use_linear_projection,
                                                            .upcast_attention = c.upcast_attention,
                                                            .only_cross_attention = c.only_cross_attention});
}

// With gradient checkpointing each resnet and each transformer is one recomputed segment, as
// in diffusers' UNet blocks; the skips, the samplers and the embeddings stay as they are.
bool checkpointing(const AttentionOptions& options) {
  return options.gradient_checkpointing && at::GradMode::is_enabled();
}

at::Tensor run_resnet(const torch::nn::ModuleList& resnets, std::size_t i, const at::Tensor& hidden,
                      const at::Tensor& temb, const AttentionOptions& options) {
  auto resnet = resnets->ptr<ResnetBlock2DImpl>(i);
  if (!checkpointing(options)) return resnet->forward(hidden, temb);
  return checkpointed([resnet](const at::Tensor& x, const at::Tensor& t) { return resnet->forward(x, t); }, hidden,
                      temb, resnet->parameters());
}

at::Tensor run_transformer(const torch::nn::ModuleList& attentions, std::size_t i, const at::Tensor& hidden,
                           const at::Tensor& context, const AttentionOptions& options) {
  auto transformer = attentions->ptr<Transformer2DModelImpl>(i);
  if (!checkpointing(options)) return transformer->forward(hidden, context, options);
  return checkpointed(
      [transformer, options](const at::Tensor& x, const at::Tensor& c) { return transformer->forward(x, c, options); },
      hidden, context, transformer->parameters());
}

}  // namespace

UNetDownBlockImpl::UNetDownBlockImpl(const UNet2DConditionConfig& c, std::size_t index, std::int64_t in_channels,
                                     std::int64_t out_channels, std::int64_t temb_channels, bool cross_attention,
                                     bool add_downsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (cross_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.layers_per_block[index]; ++i) {
    resnets->push_back(
        ResnetBlock2D(i == 0 ? in_channels : out_channels, out_channels, temb_channels, c.norm_num_groups, c.norm_eps));
    if (cross_attention) {
      attentions->push_back(
          make_transformer(c, out_channels, c.num_attention_heads[index], c.transformer_layers_per_block[index]));
    }
  }
  if (add_downsample) {
    downsamplers =
        register_module("downsamplers", torch::nn::ModuleList(Downsample2D(out_channels, c.downsample_padding)));
  }
}

at::Tensor UNetDownBlockImpl::forward(at::Tensor hidden, const at::Tensor& temb, const at::Tensor& context,
                                      std::vector<at::Tensor>& skips, const AttentionOptions& options) {
  for (std::size_t i = 0; i < resnets->size(); ++i) {
    hidden = run_resnet(resnets, i, hidden, temb, options);
    if (!attentions.is_empty()) hidden = run_transformer(attentions, i, hidden, context, options);
    skips.push_back(hidden);
  }
  if (!downsamplers.is_empty()) {
    hidden = downsamplers[0]->as<Downsample2D>()->forward(hidden);
    skips.push_back(hidden);
  }
  return hidden;
}

UNetMidBlockImpl::UNetMidBlockImpl(const UNet2DConditionConfig& c, std::int64_t channels, std::int64_t temb_channels) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  attentions = register_module("attentions", torch::nn::ModuleList());
  const double scale = c.mid_block_scale_factor;
  resnets->push_back(ResnetBlock2D(channels, channels, temb_channels, c.norm_num_groups, c.norm_eps, scale));
  attentions->push_back(
      make_transformer(c, channels, c.num_attention_heads.back(), c.transformer_layers_per_block.back()));
  resnets->push_back(ResnetBlock2D(channels, channels, temb_channels, c.norm_num_groups, c.norm_eps, scale));
}

at::Tensor UNetMidBlockImpl::forward(at::Tensor hidden, const at::Tensor& temb, const at::Tensor& context,
                                     const AttentionOptions& options) {
  hidden = run_resnet(resnets, 0, hidden, temb, options);
  hidden = run_transformer(attentions, 0, hidden, context, options);
  return run_resnet(resnets, 1, hidden, temb, options);
}

UNetUpBlockImpl::UNetUpBlockImpl(const UNet2DConditionConfig& c, std::size_t index, std::int64_t in_channels,
                                 std::int64_t prev_output_channels, std::int64_t out_channels,
                                 std::int64_t temb_channels, bool cross_attention, bool add_upsample) {
  // Up block i mirrors down block (n - 1 - i): its per-block settings come reversed.
  const std::size_t mirrored = c.down_block_types.size() - 1 - index;
  const std::int64_t layers = c.layers_per_block[mirrored] + 1;
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (cross_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::int64_t skip_channels = i == layers - 1 ? in_channels : out_channels;
    const std::int64_t resnet_in = i == 0 ? prev_output_channels : out_channels;
    resnets->push_back(
        ResnetBlock2D(resnet_in + skip_channels, out_channels, temb_channels, c.norm_num_groups, c.norm_eps));
    if (cross_attention) {
      attentions->push_back(
          make_transformer(c, out_channels, c.num_attention_heads[mirrored], c.transformer_layers_per_block[mirrored]));
    }
  }
  if (add_upsample) upsamplers = register_module("upsamplers", torch::nn::ModuleList(Upsample2D(out_channels)));
}

at::Tensor UNetUpBlockImpl::forward(at::Tensor hidden, std::vector<at::Tensor>& skips, const at::Tensor& temb,
                                    const at::Tensor& context, std::optional<std::vector<std::int64_t>> upsample_size,
                                    const AttentionOptions& options) {
  for (std::size_t i = 0; i < resnets->size(); ++i) {
    hidden = at::cat({hidden, skips.back()}, 1);
    skips.pop_back();
    hidden = run_resnet(resnets, i, hidden, temb, options);
    if (!attentions.is_empty()) hidden = run_transformer(attentions, i, hidden, context, options);
  }
  if (!upsamplers.is_empty()) hidden = upsamplers[0]->as<Upsample2D>()->forward(hidden, upsample_size);
  return hidden;
}

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNet2DConditionConfig& c) : config(c) {
  const auto& channels = c.block_out_channels;
  const std::int64_t time_embed_dim = channels[0] * 4;
  conv_in = register_module("conv_in", Conv2d(c.in_channels, channels[0], 3, 1, 1));
  time_embedding = register_module("time_embedding", TimestepEmbedding(channels[0], time_embed_dim));
  if (c.addition_embed_type == "text_time") {
    add_embedding =
        register_module("add_embedding", TimestepEmbedding(c.projection_class_embeddings_input_dim, time_embed_dim));
  }

  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  std::int64_t output_channel = channels[0];
  for (std::size_t i = 0; i < c.down_block_types.size(); ++i) {
    const std::int64_t input_channel = output_channel;
    output_channel = channels[i];
    const bool is_final = i + 1 == c.down_block_types.size();
    down_blocks->push_back(UNetDownBlock(c, i, input_channel, output_channel, time_embed_dim,
                                         c.down_block_types[i] == "CrossAttnDownBlock2D", !is_final));
  }
  mid_block = register_module("mid_block", UNetMidBlock(c, channels.back(), time_embed_dim));

  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  std::vector<std::int64_t> reversed(channels.rbegin(), channels.rend());
  output_channel = reversed[0];
  for (std::size_t i = 0; i < c.up_block_types.size(); ++i) {
    const bool is_final = i + 1 == c.up_block_types.size();
    const std::int64_t prev_output_channel = output_channel;
    output_channel = reversed[i];
    const std::int64_t input_channel = reversed[std::min(i + 1, reversed.size() - 1)];
    up_blocks->push_back(UNetUpBlock(c, i, input_channel, prev_output_channel, output_channel, time_embed_dim,
                                     c.up_block_types[i] == "CrossAttnUpBlock2D", !is_final));
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(c.norm_num_groups, channels[0], c.norm_eps));
  conv_out = register_module("conv_out", Conv2d(channels[0], c.out_channels, 3, 1, 1));
}

void UNet2DConditionModelImpl::enable_gradient_checkpointing(bool on) { attention_options.gradient_checkpointing = on; }

at::Tensor UNet2DConditionModelImpl::forward(const at::Tensor& sample, const at::Tensor& timestep,
                                             const at::Tensor& encoder_hidden_states, const at::Tensor& text_embeds,
                                             const at::Tensor& time_ids) {
  // 0. Inputs whose size is not a multiple of the total downsampling need explicit upsample
  //    sizes on the way back up.
  const std::int64_t factor = std::int64_t{1} << (config.up_block_types.size() - 1);
  const bool forward_upsample_size = sample.size(-2) % factor != 0 || sample.size(-1) % factor != 0;

  // 1. Time embedding: (b) → (b, 4·c0).
  at::Tensor t = timestep.dim() == 0 ? timestep.unsqueeze(0) : timestep;
  t = t.to(sample.device()).expand({sample.size(0)});
  const at::Tensor t_emb =
      timestep_embedding(t, config.block_out_channels[0], config.flip_sin_to_cos, config.freq_shift)
          .to(sample.scalar_type());
  at::Tensor emb = time_embedding->forward(t_emb);
  if (!add_embedding.is_empty()) {
    // 1b. SDXL's micro-conditioning: each size id its own sinusoidal embedding, after the
    //     pooled text embedding, through an MLP, added to the time embedding.
    if (!text_embeds.defined() || !time_ids.defined()) {
      throw Error("this UNet (addition_embed_type \"text_time\") needs the pooled text embedding and the size ids");
    }
    const std::int64_t b = text_embeds.size(0);
    const at::Tensor time_embeds = timestep_embedding(time_ids.flatten(), config.addition_time_embed_dim,
                                                      config.flip_sin_to_cos, config.freq_shift)
                                       .reshape({b, -1});
    const at::Tensor add_embeds = at::cat({text_embeds, time_embeds.to(text_embeds.scalar_type())}, -1);
    emb = emb + add_embedding->forward(add_embeds.to(emb.scalar_type()));
  }

  // 2. conv_in: (b, in, h, w) → (b, c0, h, w).
  at::Tensor hidden = conv_in->forward(sample);

  // 3. Down, keeping every intermediate output for the skip connections.
  std::vector<at::Tensor> skips{hidden};
  for (const auto& block : *down_blocks) {
    hidden = block->as<UNetDownBlock>()->forward(hidden, emb, encoder_hidden_states, skips, attention_options);
  }

  // 4. Mid.
  hidden = mid_block->forward(hidden, emb, encoder_hidden_states, attention_options);

  // 5. Up, consuming the skips in reverse.
  for (std::size_t i = 0; i < up_blocks->size(); ++i) {
    auto* block = up_blocks[i]->as<UNetUpBlock>();
    const bool is_final = i + 1 == up_blocks->size();
    std::optional<std::vector<std::int64_t>> upsample_size;
    if (!is_final && forward_upsample_size) {
      const at::Tensor& next_skip = skips[skips.size() - block->resnets->size() - 1];
      upsample_size = std::vector<std::int64_t>{next_skip.size(2), next_skip.size(3)};
    }
    hidden = block->forward(hidden, skips, emb, encoder_hidden_states, upsample_size, attention_options);
  }

  // 6. Out: (b, c0, h, w) → (b, out, h, w).
  return conv_out->forward(at::silu(conv_norm_out->forward(hidden)));
}

}  // namespace pawtrait::models
