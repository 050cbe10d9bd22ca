#include "models/autoencoder_kl.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "common/error.h"
#include "common/json_file.h"
#include "models/config_fields.h"

namespace pawtrait::models {

namespace {
constexpr double kVaeEps = 1e-6;  // the reference's resnet and norm eps in the VAE
}

at::Tensor LatentDistribution::sample(std::optional<at::Generator> generator) const {
  // Drawn on the CPU so that a seed means the same latents on every device.
  const at::Tensor noise = at::randn(mean.sizes(), generator, at::TensorOptions().dtype(at::kFloat));
  return mean + std * noise.to(mean.device(), mean.scalar_type());
}

VaeBlockImpl::VaeBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t layers,
                           std::int64_t groups, bool add_downsample, bool add_upsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < layers; ++i) {
    resnets->push_back(ResnetBlock2D(i == 0 ? in_channels : out_channels, out_channels, std::nullopt, groups, kVaeEps));
  }
  if (add_downsample) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList(Downsample2D(out_channels, /*padding=*/0)));
  }
  if (add_upsample) upsamplers = register_module("upsamplers", torch::nn::ModuleList(Upsample2D(out_channels)));
}

at::Tensor VaeBlockImpl::forward(at::Tensor hidden) {
  for (const auto& resnet : *resnets) hidden = resnet->as<ResnetBlock2D>()->forward(hidden);
  if (!downsamplers.is_empty()) hidden = downsamplers[0]->as<Downsample2D>()->forward(hidden);
  if (!upsamplers.is_empty()) hidden = upsamplers[0]->as<Upsample2D>()->forward(hidden);
  return hidden;
}

VaeMidBlockImpl::VaeMidBlockImpl(std::int64_t channels, std::int64_t groups, bool add_attention) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  attentions = register_module("attentions", torch::nn::ModuleList());
  resnets->push_back(ResnetBlock2D(channels, channels, std::nullopt, groups, kVaeEps));
  // One head as wide as the channels, with biases, a group norm and a residual.
  if (add_attention) {
    attentions->push_back(Attention(AttentionImpl::Options{.query_dim = channels,
                                                           .heads = 1,
                                                           .dim_head = channels,
                                                           .bias = true,
                                                           .upcast = true,
                                                           .norm_groups = groups,
                                                           .norm_eps = kVaeEps}));
  }
  resnets->push_back(ResnetBlock2D(channels, channels, std::nullopt, groups, kVaeEps));
}

at::Tensor VaeMidBlockImpl::forward(at::Tensor hidden, const AttentionOptions& options) {
  hidden = resnets[0]->as<ResnetBlock2D>()->forward(hidden);
  if (!attentions->is_empty()) hidden = attentions[0]->as<Attention>()->forward(hidden, {}, options);
  return resnets[1]->as<ResnetBlock2D>()->forward(hidden);
}

VaeEncoderImpl::VaeEncoderImpl(const AutoencoderKLConfig& c) {
  const auto& channels = c.block_out_channels;
  conv_in = register_module("conv_in", Conv2d(c.in_channels, channels[0], 3, 1, 1));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  std::int64_t output_channel = channels[0];
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const std::int64_t input_channel = output_channel;
    output_channel = channels[i];
    const bool is_final = i + 1 == channels.size();
    down_blocks->push_back(
        VaeBlock(input_channel, output_channel, c.layers_per_block, c.norm_num_groups, !is_final, false));
  }
  mid_block = register_module("mid_block", VaeMidBlock(channels.back(), c.norm_num_groups, c.mid_block_add_attention));
  conv_norm_out = register_module("conv_norm_out", group_norm(c.norm_num_groups, channels.back(), kVaeEps));
  // Mean and log-variance: twice the latent channels.
  conv_out = register_module("conv_out", Conv2d(channels.back(), 2 * c.latent_channels, 3, 1, 1));
}

at::Tensor VaeEncoderImpl::forward(const at::Tensor& image, const AttentionOptions& options) {
  at::Tensor h = conv_in->forward(image);
  for (const auto& block : *down_blocks) h = block->as<VaeBlock>()->forward(h);
  h = mid_block->forward(h, options);
  return conv_out->forward(at::silu(conv_norm_out->forward(h)));
}

VaeDecoderImpl::VaeDecoderImpl(const AutoencoderKLConfig& c) {
  const auto& channels = c.decoder_channels();
  conv_in = register_module("conv_in", Conv2d(c.latent_channels, channels.back(), 3, 1, 1));
  mid_block =
      register_module("mid_block", VaeMidBlock(channels.back(), c.norm_num_groups, c.decoder_mid_block_add_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  std::vector<std::int64_t> reversed(channels.rbegin(), channels.rend());
  std::int64_t output_channel = reversed[0];
  for (std::size_t i = 0; i < reversed.size(); ++i) {
    const std::int64_t prev_output_channel = output_channel;
    output_channel = reversed[i];
    const bool is_final = i + 1 == reversed.size();
    up_blocks->push_back(
        VaeBlock(prev_output_channel, output_channel, c.layers_per_block + 1, c.norm_num_groups, false, !is_final));
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(c.norm_num_groups, channels[0], kVaeEps));
  conv_out = register_module("conv_out", Conv2d(channels[0], c.out_channels, 3, 1, 1));
}

at::Tensor VaeDecoderImpl::forward(const at::Tensor& latents, const AttentionOptions& options) {
  at::Tensor h = conv_in->forward(latents);
  h = mid_block->forward(h, options);
  for (const auto& block : *up_blocks) h = block->as<VaeBlock>()->forward(h);
  return conv_out->forward(at::silu(conv_norm_out->forward(h)));
}

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& c) : config(c) {
  encoder = register_module("encoder", VaeEncoder(c));
  decoder = register_module("decoder", VaeDecoder(c));
  if (c.use_quant_conv) {
    quant_conv = register_module("quant_conv", Conv2d(2 * c.latent_channels, 2 * c.latent_channels, 1));
  }
  if (c.use_post_quant_conv) {
    post_quant_conv = register_module("post_quant_conv", Conv2d(c.latent_channels, c.latent_channels, 1));
  }
  if (c.latent_batch_norm) bn = register_module("bn", LatentBatchNorm(c.patched_latent_channels()));
}

LatentBatchNormImpl::LatentBatchNormImpl(std::int64_t channels) {
  running_mean = register_buffer("running_mean", at::zeros({channels}));
  running_var = register_buffer("running_var", at::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

LatentDistribution AutoencoderKLImpl::encode(const at::Tensor& image) {
  at::Tensor moments = encoder->forward(image, attention_options);
  if (!quant_conv.is_empty()) moments = quant_conv->forward(moments);
  auto parts = moments.chunk(2, 1);
  LatentDistribution d;
  d.mean = parts[0];
  d.logvar = parts[1].clamp(-30.0, 20.0);
  d.std = (0.5 * d.logvar).exp();
  return d;
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& latents) {
  return decoder->forward(post_quant_conv.is_empty() ? latents : post_quant_conv->forward(latents), attention_options);
}

namespace {

// Where tiles of `tile` start along an axis of `size` so that they cover it with at least
// `overlap` shared between neighbours; the last one ends flush with the edge.
std::vector<std::int64_t> tile_origins(std::int64_t size, std::int64_t tile, std::int64_t overlap) {
  std::vector<std::int64_t> origins{0};
  while (origins.back() + tile < size) origins.push_back(std::min(origins.back() + tile - overlap, size - tile));
  return origins;
}

// 1 in the middle of a tile, falling linearly over the overlap towards its edges.
at::Tensor tent(std::int64_t n, std::int64_t ramp, const at::TensorOptions& options) {
  const at::Tensor i = at::arange(n, options) + 0.5;
  return (at::minimum(i, n - i) / static_cast<double>(std::max<std::int64_t>(ramp, 1))).clamp_max(1.0);
}

}  // namespace

at::Tensor AutoencoderKLImpl::decode_tiled(const at::Tensor& latents, std::int64_t tile, std::int64_t overlap) {
  const std::int64_t h = latents.size(2), w = latents.size(3);
  if (tile <= 0 || (h <= tile && w <= tile)) return decode(latents);
  TORCH_CHECK(overlap >= 0 && overlap < tile, "tile overlap must be smaller than the tile");
  const std::int64_t f = config.downscale_factor();
  at::Tensor out = at::zeros({latents.size(0), config.out_channels, h * f, w * f}, latents.options());
  at::Tensor weight = at::zeros({1, 1, h * f, w * f}, latents.options());
  for (std::int64_t y0 : tile_origins(h, tile, overlap)) {
    for (std::int64_t x0 : tile_origins(w, tile, overlap)) {
      const std::int64_t th = std::min(tile, h) * f, tw = std::min(tile, w) * f;
      const at::Tensor piece =
          decode(latents.slice(2, y0, y0 + std::min(tile, h)).slice(3, x0, x0 + std::min(tile, w)));
      const at::Tensor tile_weight = (tent(th, overlap * f, latents.options()).view({-1, 1}) *
                                      tent(tw, overlap * f, latents.options()).view({1, -1}))
                                         .view({1, 1, th, tw});
      out.slice(2, y0 * f, y0 * f + th).slice(3, x0 * f, x0 * f + tw).add_(piece * tile_weight);
      weight.slice(2, y0 * f, y0 * f + th).slice(3, x0 * f, x0 * f + tw).add_(tile_weight);
    }
  }
  return out / weight;
}

}  // namespace pawtrait::models
