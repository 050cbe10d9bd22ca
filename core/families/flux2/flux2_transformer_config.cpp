#include "families/flux2/flux2_transformer_config.h"

#include <numeric>

#include "models/config_fields.h"

namespace pawtrait::families {

std::int64_t Flux2TransformerConfig::mlp_hidden_dim() const {
  return static_cast<std::int64_t>(static_cast<double>(inner_dim()) * mlp_ratio);
}

Flux2TransformerConfig Flux2TransformerConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const models::ConfigFields f(json, source);
  Flux2TransformerConfig c;
  // patch_size is read by nothing in the reference's model (its input projection takes the
  // already patchified latents), so it is not read here either.
  c.in_channels = f.size("in_channels", c.in_channels);
  c.out_channels = f.size("out_channels", c.in_channels);
  c.num_layers = f.integer("num_layers", c.num_layers);
  c.num_single_layers = f.integer("num_single_layers", c.num_single_layers);
  if (c.num_layers < 0 || c.num_single_layers < 0 || c.num_layers + c.num_single_layers == 0) {
    f.fail("num_layers", "and num_single_layers must be 0 or more, and not both 0");
  }
  c.attention_head_dim = f.size("attention_head_dim", c.attention_head_dim);
  c.num_attention_heads = f.size("num_attention_heads", c.num_attention_heads);
  c.joint_attention_dim = f.size("joint_attention_dim", c.joint_attention_dim);
  c.timestep_guidance_channels = f.size("timestep_guidance_channels", c.timestep_guidance_channels);
  if (c.timestep_guidance_channels % 2 != 0) f.fail("timestep_guidance_channels", "must be even (cos and sin halves)");
  c.mlp_ratio = f.positive_number("mlp_ratio", c.mlp_ratio);
  if (c.mlp_hidden_dim() < 1) f.fail("mlp_ratio", "gives a feed-forward width below 1");
  c.axes_dims_rope = f.sizes("axes_dims_rope", c.axes_dims_rope);
  for (const std::int64_t d : c.axes_dims_rope) {
    if (d % 2 != 0) f.fail("axes_dims_rope", "must list even sizes (the rotary embedding turns pairs)");
  }
  const std::int64_t rotated = std::accumulate(c.axes_dims_rope.begin(), c.axes_dims_rope.end(), std::int64_t{0});
  if (rotated != c.attention_head_dim) {
    f.fail("axes_dims_rope", "must add up to attention_head_dim (" + std::to_string(c.attention_head_dim) +
                                 "); they add up to " + std::to_string(rotated));
  }
  c.rope_theta = f.positive_number("rope_theta", c.rope_theta);
  c.eps = f.positive_number("eps", c.eps);
  c.guidance_embeds = f.boolean("guidance_embeds", c.guidance_embeds);
  return c;
}

}  // namespace pawtrait::families
