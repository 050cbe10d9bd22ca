#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::models {

// AutoencoderKL's config.json with the reference's defaults.
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

  static AutoencoderKLConfig from_json(const nlohmann::json& json, const std::string& source);
  static AutoencoderKLConfig load(const std::filesystem::path& file);
  // How many times smaller the latents are than the image (8 for SD).
  std::int64_t downscale_factor() const { return std::int64_t{1} << (block_out_channels.size() - 1); }
};

}  // namespace pawtrait::models
