#include "models/clip_text_config.h"

#include "common/json_file.h"
#include "models/config_fields.h"

namespace pawtrait::models {

CLIPTextConfig CLIPTextConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const ConfigFields f(json, source);
  CLIPTextConfig c;
  c.vocab_size = f.size("vocab_size", c.vocab_size);
  c.hidden_size = f.size("hidden_size", c.hidden_size);
  c.intermediate_size = f.size("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = f.size("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = f.size("num_attention_heads", c.num_attention_heads);
  c.max_position_embeddings = f.size("max_position_embeddings", c.max_position_embeddings);
  c.hidden_act = f.text("hidden_act", c.hidden_act);
  c.layer_norm_eps = f.positive_number("layer_norm_eps", c.layer_norm_eps);
  c.eos_token_id = f.integer("eos_token_id", c.eos_token_id);
  for (const auto& architecture : f.texts("architectures", {})) {
    if (architecture == "CLIPTextModelWithProjection") c.with_projection = true;
  }
  if (c.with_projection) c.projection_dim = f.size("projection_dim", c.projection_dim);
  if (c.hidden_act != "quick_gelu" && c.hidden_act != "gelu") {
    f.fail("hidden_act", "is \"" + c.hidden_act + "\"; supported are quick_gelu and gelu");
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    f.fail("num_attention_heads", "must divide hidden_size (" + std::to_string(c.hidden_size) + ")");
  }
  return c;
}

CLIPTextConfig CLIPTextConfig::load(const std::filesystem::path& file) {
  return from_json(read_json_file(file), file.string());
}

}  // namespace pawtrait::models
