#include "families/builtin/pixel_unet_config.h"

#include "models/config_fields.h"

namespace pawtrait::models {

nlohmann::json PixelUNetConfig::to_json() const {
  return {{"_class_name", "PixelUNet"},
          {"resolution", resolution},
          {"channels", channels},
          {"block_out_channels", block_out_channels},
          {"layers_per_block", layers_per_block},
          {"attention_levels", attention_levels},
          {"norm_num_groups", norm_num_groups}};
}

PixelUNetConfig PixelUNetConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const ConfigFields f(json, source);
  PixelUNetConfig c;
  c.resolution = f.size("resolution", c.resolution);
  c.channels = f.size("channels", c.channels);
  c.block_out_channels = f.sizes("block_out_channels", c.block_out_channels);
  c.layers_per_block = f.size("layers_per_block", c.layers_per_block);
  c.attention_levels = f.integers("attention_levels", c.attention_levels);
  c.norm_num_groups = f.size("norm_num_groups", c.norm_num_groups);
  if (c.block_out_channels.size() > 16) f.fail("block_out_channels", "has more than 16 blocks");
  const std::int64_t factor = std::int64_t{1} << (c.block_out_channels.size() - 1);
  if (c.resolution % factor != 0) f.fail("resolution", "must be a multiple of " + std::to_string(factor));
  for (std::int64_t ch : c.block_out_channels) {
    if (ch % c.norm_num_groups != 0) f.fail("block_out_channels", "must be multiples of norm_num_groups");
  }
  return c;
}

}  // namespace pawtrait::models
