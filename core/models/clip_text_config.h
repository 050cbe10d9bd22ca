#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace pawtrait::models {

// transformers' CLIPTextConfig as SD uses it. num_hidden_layers is read, not assumed: SD 2.x
// ships its OpenCLIP text encoder already cut to 23 layers.
struct CLIPTextConfig {
  std::int64_t vocab_size = 49408;
  std::int64_t hidden_size = 512;
  std::int64_t intermediate_size = 2048;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 8;
  std::int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";  // or "gelu" (SD 2.x)
  double layer_norm_eps = 1e-5;
  std::int64_t eos_token_id = 2;
  // CLIPTextModelWithProjection (SDXL's second encoder): a bias-free Linear from the pooled
  // output to projection_dim, "text_projection".
  bool with_projection = false;
  std::int64_t projection_dim = 512;

  static CLIPTextConfig from_json(const nlohmann::json& json, const std::string& source);
  static CLIPTextConfig load(const std::filesystem::path& file);
};

}  // namespace pawtrait::models
