#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace pawtrait::models {

// A Qwen3 text model's config.json (Qwen3ForCausalLM, FLUX.2 [klein]'s text encoder), the
// fields its decoder stack needs. Defaults are transformers' Qwen3Config's.
struct Qwen3Config {
  std::int64_t vocab_size = 151936;
  std::int64_t hidden_size = 4096;
  std::int64_t intermediate_size = 22016;
  std::int64_t num_hidden_layers = 32;
  std::int64_t num_attention_heads = 32;
  std::int64_t num_key_value_heads = 32;  // null in the file: num_attention_heads
  std::int64_t head_dim = 128;            // its own field: not hidden_size / heads (Qwen3-4B: 128 ≠ 2560/32)
  std::int64_t max_position_embeddings = 32768;
  double rms_norm_eps = 1e-6;
  double rope_theta = 0;  // rope_parameters.rope_theta (or the older top-level rope_theta)
  bool attention_bias = false;
  bool tie_word_embeddings = false;

  // Throws pawtrait::Error naming `source` and the field for wrong types or sizes, and for what
  // the decoder here does not do: an activation other than SiLU, rotary scaling other than
  // "default", sliding-window attention, query heads that do not share key/value heads evenly.
  static Qwen3Config from_json(const nlohmann::json& json, const std::string& source);
  static Qwen3Config load(const std::filesystem::path& file);
};

}  // namespace pawtrait::models
