#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::models {

// UNet2DConditionModel's config.json, as far as SD 1.x, 2.x and SDXL use it, with the
// reference's defaults. attention_head_dim is really the number of heads (a diffusers quirk kept for
// compatibility); num_attention_heads, when set, takes precedence.
struct UNet2DConditionConfig {
  std::int64_t sample_size = 64;
  std::int64_t in_channels = 4;
  std::int64_t out_channels = 4;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  std::vector<std::string> down_block_types = {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                               "DownBlock2D"};
  std::string mid_block_type = "UNetMidBlock2DCrossAttn";
  std::vector<std::string> up_block_types = {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                             "CrossAttnUpBlock2D"};
  std::vector<std::int64_t> block_out_channels = {320, 640, 1280, 1280};
  std::vector<std::int64_t> layers_per_block = {2, 2, 2, 2};
  std::int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1;
  std::int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  std::int64_t cross_attention_dim = 1280;
  std::vector<std::int64_t> num_attention_heads = {8, 8, 8, 8};  // per down block
  std::vector<std::int64_t> transformer_layers_per_block = {1, 1, 1, 1};
  bool use_linear_projection = false;
  bool upcast_attention = false;
  bool only_cross_attention = false;
  // SDXL's micro-conditioning: "text_time" adds an MLP of [pooled text embedding, sinusoidal
  // embeddings of the six size ids] to the time embedding; "" for none.
  std::string addition_embed_type;
  std::int64_t addition_time_embed_dim = 0;
  std::int64_t projection_class_embeddings_input_dim = 0;  // pooled width + 6 · addition_time_embed_dim
  std::string prediction_type_hint;                        // not in the UNet config; set by whoever detects it

  // Throws pawtrait::Error naming `source` and the field for anything unsupported.
  static UNet2DConditionConfig from_json(const nlohmann::json& json, const std::string& source);
  static UNet2DConditionConfig load(const std::filesystem::path& file);
};

}  // namespace pawtrait::models
