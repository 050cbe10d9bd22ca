#include "models/autoencoder_kl_config.h"

#include "common/json_file.h"
#include "models/config_fields.h"

namespace pawtrait::models {

AutoencoderKLConfig AutoencoderKLConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const ConfigFields f(json, source);
  AutoencoderKLConfig c;
  const bool flux2 = f.text("_class_name", "AutoencoderKL") == "AutoencoderKLFlux2";
  if (flux2) c.latent_channels = 32;  // AutoencoderKLFlux2's default
  c.in_channels = f.size("in_channels", c.in_channels);
  c.out_channels = f.size("out_channels", c.out_channels);
  c.block_out_channels = f.sizes("block_out_channels", c.block_out_channels);
  c.layers_per_block = f.size("layers_per_block", c.layers_per_block);
  c.latent_channels = f.size("latent_channels", c.latent_channels);
  c.norm_num_groups = f.size("norm_num_groups", c.norm_num_groups);
  c.sample_size = f.size("sample_size", c.sample_size);
  c.scaling_factor = f.positive_number("scaling_factor", c.scaling_factor);
  c.force_upcast = f.boolean("force_upcast", c.force_upcast);
  const auto down =
      f.texts("down_block_types", std::vector<std::string>(c.block_out_channels.size(), "DownEncoderBlock2D"));
  const auto up = f.texts("up_block_types", std::vector<std::string>(c.block_out_channels.size(), "UpDecoderBlock2D"));
  if (down.size() != c.block_out_channels.size() || up.size() != c.block_out_channels.size()) {
    f.fail("block_out_channels", "must have one entry per down and up block");
  }
  for (const auto& t : down) {
    if (t != "DownEncoderBlock2D")
      f.fail("down_block_types", "contains \"" + t + "\"; only DownEncoderBlock2D is supported");
  }
  for (const auto& t : up) {
    if (t != "UpDecoderBlock2D") f.fail("up_block_types", "contains \"" + t + "\"; only UpDecoderBlock2D is supported");
  }
  if (f.text("act_fn", "silu") != "silu") f.fail("act_fn", "must be \"silu\"");
  for (std::int64_t ch : c.block_out_channels) {
    if (ch % c.norm_num_groups != 0) f.fail("block_out_channels", "must be multiples of norm_num_groups");
  }
  if (c.block_out_channels.size() > 16) f.fail("block_out_channels", "has more than 16 blocks");
  if (f.has("decoder_block_out_channels")) {
    c.decoder_block_out_channels = f.sizes("decoder_block_out_channels", {});
    if (c.decoder_block_out_channels.size() != c.block_out_channels.size()) {
      f.fail("decoder_block_out_channels", "must have one entry per up block, as block_out_channels has");
    }
    for (std::int64_t ch : c.decoder_block_out_channels) {
      if (ch % c.norm_num_groups != 0) f.fail("decoder_block_out_channels", "must be multiples of norm_num_groups");
    }
  }
  c.use_quant_conv = f.boolean("use_quant_conv", c.use_quant_conv);
  c.use_post_quant_conv = f.boolean("use_post_quant_conv", c.use_post_quant_conv);
  c.mid_block_add_attention = f.boolean("mid_block_add_attention", c.mid_block_add_attention);
  if (flux2) {
    c.latent_batch_norm = true;
    c.decoder_mid_block_add_attention = true;
    c.patch_size = f.sizes("patch_size", {2, 2});
    if (c.patch_size.size() != 2) f.fail("patch_size", "must be two sizes (height, width)");
    c.batch_norm_eps = f.positive_number("batch_norm_eps", c.batch_norm_eps);
  } else {
    c.decoder_mid_block_add_attention = c.mid_block_add_attention;
  }
  return c;
}

AutoencoderKLConfig AutoencoderKLConfig::load(const std::filesystem::path& file) {
  return from_json(read_json_file(file), file.string());
}

}  // namespace pawtrait::models
