#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pawtrait::pipeline {

struct LoraSpec {
  std::string path;  // in a shared picture, only the file's name (models/model_fingerprint.h)
  double strength = 1.0;
  std::string hash;  // its short hash; "" = not known (a request typed by hand, an older picture)
};

// Everything that decides a text-to-image run. Saved as JSON next to its images (and inside
// each PNG, with that image's own seed), so any run can be replayed exactly.
struct GenerateRequest {
  // A diffusers folder or a .safetensors file. A shared picture carries only the names of its
  // model, configs, VAE and LoRAs, and their short hashes (pipeline/model_search.h finds them).
  std::string model;
  std::string model_hash;    // "" = not known
  std::string model_config;  // a folder of configs for a single file ("" = detect)
  std::string vae;           // a VAE folder or .safetensors file instead of the model's own ("" = its own)
  std::string vae_hash;
  // FLUX.2 [klein]: the text-encoder layers of the prompt embedding, "9,18,27" ("" = those).
  std::string text_encoder_layers;
  std::vector<LoraSpec> loras;
  std::string prompt;
  // None: the model's own unconditional branch (Stable Diffusion encodes ""; SDXL, whose
  // pipeline config says force_zeros_for_empty_prompt, uses zeros). An explicit "" is encoded.
  std::optional<std::string> negative_prompt;
  std::string sampler;     // "" = the model's own default (dpmpp_2m_karras; built-in: ddpm)
  std::int64_t steps = 0;  // 0 = the model's own default (25; built-in: 100)
  double guidance = 7.5;
  double eta = 0.0;        // DDIM's η
  std::int64_t width = 0;  // 0 = the model's own size
  std::int64_t height = 0;
  std::uint64_t seed = 0;  // image i uses seed + i
  std::int64_t count = 1;
  std::int64_t batch_size = 1;
  std::int64_t clip_skip = 0;
  // How the CLIP tokenizer normalises the prompts: "nfc", as current diffusers (transformers 5)
  // does, or "ftfy", as transformers 4 with ftfy did (HTML entities, curly quotes, ligatures and
  // full-width letters folded), to remake pictures from such setups.
  std::string prompt_cleanup = "nfc";
  // SDXL's micro-conditioning, (height, width) in pixels as the reference pipeline takes them:
  // unset, the size drawn (original and target) and no crop. The negative ones count only when
  // both negative sizes are given (the reference's rule); otherwise the positive ids are used.
  using Pair = std::array<std::int64_t, 2>;
  std::optional<Pair> original_size, crops_coords_top_left, target_size;
  std::optional<Pair> negative_original_size, negative_crops_coords_top_left, negative_target_size;
  std::string device = "auto";  // auto | cpu | cuda; a finished picture records the one used
  std::string dtype = "auto";   // auto | fp32 | fp16 | bf16; likewise

  nlohmann::json to_json() const;
  // Missing keys keep their defaults; wrong types throw pawtrait::Error naming the key.
  static GenerateRequest from_json(const nlohmann::json& json, const std::string& source = "request");
};

// "9,18,27" -> {9, 18, 27}: the CLI's --text-encoder-layers. Throws pawtrait::Error for an
// empty list, a non-number or a negative layer.
std::vector<std::int64_t> parse_text_encoder_layers(const std::string& text);

}  // namespace pawtrait::pipeline
