#include "models/qwen3_config.h"

#include "common/json_file.h"
#include "models/config_fields.h"

namespace pawtrait::models {

Qwen3Config Qwen3Config::from_json(const nlohmann::json& json, const std::string& source) {
  const ConfigFields f(json, source);
  Qwen3Config c;
  c.vocab_size = f.size("vocab_size", c.vocab_size);
  c.hidden_size = f.size("hidden_size", c.hidden_size);
  c.intermediate_size = f.size("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = f.size("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = f.size("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = f.size("num_key_value_heads", c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    f.fail("num_key_value_heads", "must divide num_attention_heads (each key/value head serves as many queries)");
  }
  c.head_dim = f.size("head_dim", c.head_dim);
  if (c.head_dim % 2 != 0) f.fail("head_dim", "must be even (the rotary embedding turns pairs)");
  c.max_position_embeddings = f.size("max_position_embeddings", c.max_position_embeddings);
  c.rms_norm_eps = f.positive_number("rms_norm_eps", c.rms_norm_eps);
  c.attention_bias = f.boolean("attention_bias", c.attention_bias);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", c.tie_word_embeddings);
  if (f.text("hidden_act", "silu") != "silu") f.fail("hidden_act", "must be \"silu\" (Qwen3's SwiGLU)");
  if (f.boolean("use_sliding_window", false)) f.fail("use_sliding_window", "is not supported (full attention only)");
  for (const std::string& type : f.texts("layer_types", {})) {
    if (type != "full_attention") f.fail("layer_types", "lists \"" + type + "\"; only full_attention is supported");
  }
  // transformers 5 writes rope_parameters {rope_type, rope_theta}; older files rope_theta alone.
  if (json.contains("rope_parameters") && !json["rope_parameters"].is_null()) {
    const ConfigFields rope(json["rope_parameters"], source + " (rope_parameters)");
    if (rope.text("rope_type", "default") != "default") {
      rope.fail("rope_type", "must be \"default\" (no rotary scaling is implemented)");
    }
    if (rope.has("rope_theta")) c.rope_theta = rope.positive_number("rope_theta", 0);
  } else if (f.has("rope_theta")) {
    c.rope_theta = f.positive_number("rope_theta", 0);
  }
  if (!(c.rope_theta > 0)) f.fail("rope_parameters", "names no rope_theta; the rotary base must be given");
  return c;
}

Qwen3Config Qwen3Config::load(const std::filesystem::path& file) {
  return from_json(read_json_file(file), file.string());
}

}  // namespace pawtrait::models
