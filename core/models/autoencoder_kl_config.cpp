#include "models/autoencoder_kl_config.h"

#include "common/json_file.h"
#include "models/config_fields.h"

namespace pawtrait::models {

AutoencoderKLConfig AutoencoderKLConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const ConfigFields f(json, source);
  AutoencoderKLConfig c;
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
  return c;
}

AutoencoderKLConfig AutoencoderKLConfig::load(const std::filesystem::path& file) {
  return from_json(read_json_file(file), file.string());
}

}  // namespace pawtrait::models
