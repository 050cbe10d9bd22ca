#include "families/builtin/pixel_unet.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/any.h>

#include <algorithm>

#include "common/error.h"
#include "models/config_fields.h"

namespace pawtrait::models {

bool PixelUNetImpl::attends(std::size_t level) const {
  return std::find(config.attention_levels.begin(), config.attention_levels.end(), static_cast<std::int64_t>(level)) !=
         config.attention_levels.end();
}

namespace {
Attention self_attention(std::int64_t channels, std::int64_t groups) {
  return Attention(AttentionImpl::Options{
      .query_dim = channels, .heads = 1, .dim_head = channels, .bias = true, .norm_groups = groups, .norm_eps = 1e-6});
}
}  // namespace

PixelUNetImpl::PixelUNetImpl(const PixelUNetConfig& c) : config(c) {
  const auto& ch = c.block_out_channels;
  const std::int64_t temb = ch[0] * 4;
  const std::int64_t g = c.norm_num_groups;
  conv_in = register_module("conv_in", Conv2d(c.channels, ch[0], 3, 1, 1));
  time_embedding = register_module("time_embedding", TimestepEmbedding(ch[0], temb));
  down_resnets = register_module("down_resnets", torch::nn::ModuleList());
  down_attentions = register_module("down_attentions", torch::nn::ModuleList());
  downsamplers = register_module("downsamplers", torch::nn::ModuleList());
  // Down: per level, layers_per_block resnets (+ attention), then a downsampler but last.
  std::vector<std::int64_t> skip_channels{ch[0]};
  std::int64_t current = ch[0];
  for (std::size_t level = 0; level < ch.size(); ++level) {
    for (std::int64_t i = 0; i < c.layers_per_block; ++i) {
      down_resnets->push_back(ResnetBlock2D(current, ch[level], temb, g, 1e-6));
      current = ch[level];
      if (attends(level)) down_attentions->push_back(self_attention(current, g));
      skip_channels.push_back(current);
    }
    if (level + 1 < ch.size()) {
      downsamplers->push_back(Downsample2D(current, 1));
      skip_channels.push_back(current);
    }
  }
  mid = register_module(
      "mid", torch::nn::ModuleList(ResnetBlock2D(current, current, temb, g, 1e-6), self_attention(current, g),
                                   ResnetBlock2D(current, current, temb, g, 1e-6)));
  up_resnets = register_module("up_resnets", torch::nn::ModuleList());
  up_attentions = register_module("up_attentions", torch::nn::ModuleList());
  upsamplers = register_module("upsamplers", torch::nn::ModuleList());
  for (std::size_t level = ch.size(); level-- > 0;) {
    for (std::int64_t i = 0; i <= c.layers_per_block; ++i) {
      const std::int64_t skip = skip_channels.back();
      skip_channels.pop_back();
      up_resnets->push_back(ResnetBlock2D(current + skip, ch[level], temb, g, 1e-6));
      current = ch[level];
      if (attends(level)) up_attentions->push_back(self_attention(current, g));
    }
    if (level > 0) upsamplers->push_back(Upsample2D(current));
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(g, ch[0], 1e-6));
  conv_out = register_module("conv_out", Conv2d(ch[0], c.channels, 3, 1, 1));
}

at::Tensor PixelUNetImpl::forward(const at::Tensor& sample, const at::Tensor& timestep) {
  const auto& ch = config.block_out_channels;
  at::Tensor t = timestep.dim() == 0 ? timestep.unsqueeze(0) : timestep;
  t = t.to(sample.device()).expand({sample.size(0)});
  const at::Tensor emb =
      time_embedding->forward(timestep_embedding(t, ch[0], /*flip_sin_to_cos=*/true, 0).to(sample.scalar_type()));

  at::Tensor h = conv_in->forward(sample);
  std::vector<at::Tensor> skips{h};
  std::size_t resnet = 0, attention = 0, down = 0;
  for (std::size_t level = 0; level < ch.size(); ++level) {
    for (std::int64_t i = 0; i < config.layers_per_block; ++i) {
      h = down_resnets[resnet++]->as<ResnetBlock2D>()->forward(h, emb);
      if (attends(level)) h = down_attentions[attention++]->as<Attention>()->forward(h);
      skips.push_back(h);
    }
    if (level + 1 < ch.size()) {
      h = downsamplers[down++]->as<Downsample2D>()->forward(h);
      skips.push_back(h);
    }
  }
  h = mid[0]->as<ResnetBlock2D>()->forward(h, emb);
  h = mid[1]->as<Attention>()->forward(h);
  h = mid[2]->as<ResnetBlock2D>()->forward(h, emb);
  resnet = attention = 0;
  std::size_t up = 0;
  for (std::size_t level = ch.size(); level-- > 0;) {
    for (std::int64_t i = 0; i <= config.layers_per_block; ++i) {
      h = at::cat({h, skips.back()}, 1);
      skips.pop_back();
      h = up_resnets[resnet++]->as<ResnetBlock2D>()->forward(h, emb);
      if (attends(level)) h = up_attentions[attention++]->as<Attention>()->forward(h);
    }
    if (level > 0) h = upsamplers[up++]->as<Upsample2D>()->forward(h);
  }
  return conv_out->forward(at::silu(conv_norm_out->forward(h)));
}

}  // namespace pawtrait::models
