// libFuzzer target: any bytes as a model component's config.json (UNet, VAE, CLIP text
// encoder, the built-in pixel UNet, FLUX.2's transformer, Qwen3) either give a config whose sizes are all usable or
// throw pawtrait::Error. Whatever is accepted must not divide by zero or overflow later: the derived sizes a model
// builder computes are computed here too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/json_file.h"
#include "families/builtin/pixel_unet_config.h"
#include "families/flux2/flux2_transformer_config.h"
#include "models/autoencoder_kl_config.h"
#include "models/clip_text_config.h"
#include "models/qwen3_config.h"
#include "models/unet2d_condition_config.h"

namespace {

template <typename Check>
void try_config(Check check) {
  try {
    check();
  } catch (const pawtrait::Error&) {
  }
}

volatile std::int64_t sink;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pawtrait::models;
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json json;
  try {
    json = pawtrait::parse_python_json(text, "fuzz-input");
  } catch (const pawtrait::Error&) {
    return 0;
  }
  try_config([&] {
    const auto c = UNet2DConditionConfig::from_json(json, "config.json");
    for (std::size_t i = 0; i < c.block_out_channels.size(); ++i) {
      sink = c.block_out_channels[i] / c.num_attention_heads[i] + c.block_out_channels[i] % c.norm_num_groups +
             c.layers_per_block[i] * c.transformer_layers_per_block[i];
    }
    sink = std::int64_t{1} << (c.up_block_types.size() - 1);
  });
  try_config([&] {
    const auto c = AutoencoderKLConfig::from_json(json, "config.json");
    sink = c.downscale_factor() + c.block_out_channels.back() / c.norm_num_groups;
  });
  try_config([&] {
    const auto c = CLIPTextConfig::from_json(json, "config.json");
    sink = c.hidden_size / c.num_attention_heads;
  });
  try_config([&] {
    const auto c = pawtrait::families::Flux2TransformerConfig::from_json(json, "config.json");
    std::int64_t axes = 0;
    for (const std::int64_t d : c.axes_dims_rope) axes += d / 2;
    sink = c.inner_dim() / c.attention_head_dim + c.mlp_hidden_dim() + axes + c.in_channels + c.joint_attention_dim;
  });
  try_config([&] {
    const auto c = Qwen3Config::from_json(json, "config.json");
    sink = c.num_attention_heads / c.num_key_value_heads + c.head_dim / 2 + c.hidden_size + c.vocab_size;
  });
  try_config([&] {
    const auto c = PixelUNetConfig::from_json(json, "config.json");
    sink = c.block_out_channels[0] / c.norm_num_groups;
  });
  return 0;
}
