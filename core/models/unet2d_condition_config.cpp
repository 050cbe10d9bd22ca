#include "models/unet2d_condition_config.h"

#include "common/json_file.h"
#include "models/config_fields.h"

namespace pawtrait::models {

UNet2DConditionConfig UNet2DConditionConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const ConfigFields f(json, source);
  UNet2DConditionConfig c;
  c.sample_size = f.size("sample_size", c.sample_size);
  c.in_channels = f.size("in_channels", c.in_channels);
  c.out_channels = f.size("out_channels", c.out_channels);
  c.flip_sin_to_cos = f.boolean("flip_sin_to_cos", c.flip_sin_to_cos);
  c.freq_shift = f.number("freq_shift", c.freq_shift);
  c.down_block_types = f.texts("down_block_types", c.down_block_types);
  c.mid_block_type = f.text("mid_block_type", c.mid_block_type);
  c.up_block_types = f.texts("up_block_types", c.up_block_types);
  c.block_out_channels = f.sizes("block_out_channels", c.block_out_channels);
  const auto blocks = static_cast<std::int64_t>(c.down_block_types.size());
  c.layers_per_block = f.per_block("layers_per_block", blocks, 2);
  c.downsample_padding = f.integer("downsample_padding", c.downsample_padding);
  c.mid_block_scale_factor = f.number("mid_block_scale_factor", c.mid_block_scale_factor);
  c.norm_num_groups = f.size("norm_num_groups", c.norm_num_groups);
  c.norm_eps = f.positive_number("norm_eps", c.norm_eps);
  c.cross_attention_dim = f.size("cross_attention_dim", c.cross_attention_dim);
  // diffusers: num_attention_heads = num_attention_heads or attention_head_dim.
  c.num_attention_heads = f.has("num_attention_heads") ? f.per_block("num_attention_heads", blocks, 8)
                                                       : f.per_block("attention_head_dim", blocks, 8);
  c.transformer_layers_per_block = f.per_block("transformer_layers_per_block", blocks, 1);
  c.use_linear_projection = f.boolean("use_linear_projection", c.use_linear_projection);
  c.upcast_attention = f.boolean("upcast_attention", c.upcast_attention);
  if (json.contains("only_cross_attention") && json["only_cross_attention"].is_array()) {
    f.fail("only_cross_attention", "as a per-block list is not supported");
  }
  c.only_cross_attention = f.boolean("only_cross_attention", c.only_cross_attention);

  if (static_cast<std::int64_t>(c.block_out_channels.size()) != blocks ||
      c.up_block_types.size() != c.down_block_types.size()) {
    f.fail("block_out_channels", "must have one entry per down block, and up_block_types as many as down_block_types");
  }
  for (const auto& type : c.down_block_types) {
    if (type != "CrossAttnDownBlock2D" && type != "DownBlock2D") {
      f.fail("down_block_types", "contains \"" + type + "\"; supported are CrossAttnDownBlock2D and DownBlock2D");
    }
  }
  for (const auto& type : c.up_block_types) {
    if (type != "CrossAttnUpBlock2D" && type != "UpBlock2D") {
      f.fail("up_block_types", "contains \"" + type + "\"; supported are CrossAttnUpBlock2D and UpBlock2D");
    }
  }
  if (c.mid_block_type != "UNetMidBlock2DCrossAttn") {
    f.fail("mid_block_type", "is \"" + c.mid_block_type + "\"; only UNetMidBlock2DCrossAttn is supported");
  }
  if (f.has("addition_embed_type")) {
    c.addition_embed_type = f.text("addition_embed_type", "");
    if (c.addition_embed_type != "text_time") {
      f.fail("addition_embed_type", "is \"" + c.addition_embed_type + "\"; only \"text_time\" (SDXL) is supported");
    }
    c.addition_time_embed_dim = f.size("addition_time_embed_dim", 256);
    if (c.addition_time_embed_dim % 2 != 0) f.fail("addition_time_embed_dim", "must be even");
    c.projection_class_embeddings_input_dim = f.size("projection_class_embeddings_input_dim", 2816);
    if (c.projection_class_embeddings_input_dim <= 6 * c.addition_time_embed_dim) {
      f.fail("projection_class_embeddings_input_dim",
             "must be more than 6 × addition_time_embed_dim (the pooled text embedding comes first)");
    }
  }
  for (const char* key :
       {"class_embed_type", "encoder_hid_dim", "time_cond_proj_dim", "reverse_transformer_layers_per_block"}) {
    if (f.has(key)) f.fail(key, "is set; this conditioned variant is not supported yet");
  }
  if (f.text("time_embedding_type", "positional") != "positional") {
    f.fail("time_embedding_type", "must be \"positional\"");
  }
  if (f.text("resnet_time_scale_shift", "default") != "default") {
    f.fail("resnet_time_scale_shift", "must be \"default\"");
  }
  if (f.text("act_fn", "silu") != "silu") f.fail("act_fn", "must be \"silu\"");
  for (std::size_t i = 0; i < c.block_out_channels.size(); ++i) {
    const std::int64_t ch = c.block_out_channels[i];
    if (ch % c.norm_num_groups != 0) f.fail("block_out_channels", "must be multiples of norm_num_groups");
    if (ch % c.num_attention_heads[i] != 0) {
      f.fail(f.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim",
             "must divide each block's channels; block " + std::to_string(i) + " has " + std::to_string(ch) +
                 " channels and " + std::to_string(c.num_attention_heads[i]) + " heads");
    }
  }
  if (c.down_block_types.empty()) f.fail("down_block_types", "must not be empty");
  if (c.down_block_types.size() > 16) f.fail("down_block_types", "has more than 16 blocks");
  return c;
}

UNet2DConditionConfig UNet2DConditionConfig::load(const std::filesystem::path& file) {
  return from_json(read_json_file(file), file.string());
}

}  // namespace pawtrait::models
