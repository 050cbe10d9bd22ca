#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::models {

// AutoencoderKL's config.json with the reference's defaults; AutoencoderKLFlux2's (FLUX.2) too,
// which is the same network plus the running statistics of its patchified latents.
struct AutoencoderKLConfig {
  std::int64_t in_channels = 3;
  std::int64_t out_channels = 3;
  std::vector<std::int64_t> block_out_channels = {64};
  std::int64_t layers_per_block = 1;
  std::int64_t latent_channels = 4;
  std::int64_t norm_num_groups = 32;
  std::int64_t sample_size = 32;
  double scaling_factor = 0.18215;
  bool force_upcast = true;
  std::vector<std::int64_t> decoder_block_out_channels;  // empty: block_out_channels
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;
  // AutoencoderKL passes mid_block_add_attention to its decoder too; AutoencoderKLFlux2 does not.
  bool decoder_mid_block_add_attention = true;
  // AutoencoderKLFlux2: latents are patchified by patch_size and normalised by the "bn" buffers.
  bool latent_batch_norm = false;
  std::vector<std::int64_t> patch_size = {1, 1};
  double batch_norm_eps = 1e-4;

  static AutoencoderKLConfig from_json(const nlohmann::json& json, const std::string& source);
  static AutoencoderKLConfig load(const std::filesystem::path& file);
  // How many times smaller the latents are than the image (8 for SD).
  std::int64_t downscale_factor() const { return std::int64_t{1} << (block_out_channels.size() - 1); }
  const std::vector<std::int64_t>& decoder_channels() const {
    return decoder_block_out_channels.empty() ? block_out_channels : decoder_block_out_channels;
  }
  std::int64_t patched_latent_channels() const { return latent_channels * patch_size[0] * patch_size[1]; }
};

}  // namespace pawtrait::models
