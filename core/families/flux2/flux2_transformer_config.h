#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::families {

// A Flux2Transformer2DModel config.json (FLUX.2 and its [klein] models). Defaults are the
// reference class's (FLUX.2 [dev]'s sizes); the klein models' files set their own.
struct Flux2TransformerConfig {
  std::int64_t in_channels = 128;       // the 2×2-patchified VAE latent channels
  std::int64_t out_channels = 128;      // null in the file: in_channels
  std::int64_t num_layers = 8;          // double-stream blocks
  std::int64_t num_single_layers = 48;  // single-stream blocks
  std::int64_t attention_head_dim = 128;
  std::int64_t num_attention_heads = 48;
  std::int64_t joint_attention_dim = 15360;  // the text embedding's width
  std::int64_t timestep_guidance_channels = 256;
  double mlp_ratio = 3.0;
  std::vector<std::int64_t> axes_dims_rope = {32, 32, 32, 32};
  double rope_theta = 2000;
  double eps = 1e-6;
  bool guidance_embeds = true;

  bool operator==(const Flux2TransformerConfig&) const = default;

  std::int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  // The feed-forward width, int(inner_dim · mlp_ratio) as the reference truncates it.
  std::int64_t mlp_hidden_dim() const;

  // Throws pawtrait::Error naming `source` and the field for a wrong type or size, or axes
  // that do not cover the attention heads (the rotary embedding rotates each head whole).
  static Flux2TransformerConfig from_json(const nlohmann::json& json, const std::string& source);
};

}  // namespace pawtrait::families
