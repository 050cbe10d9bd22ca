#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::models {

// The built-in model: an unconditional pixel-space DDPM UNet (Ho et al. 2020, Appendix B,
// scaled down): resnet blocks with the timestep embedding, self-attention at the chosen
// levels, ×2 down/up sampling between levels, skip connections.
struct PixelUNetConfig {
  std::int64_t resolution = 64;
  std::int64_t channels = 3;
  std::vector<std::int64_t> block_out_channels = {32, 64, 96, 128};
  std::int64_t layers_per_block = 1;
  std::vector<std::int64_t> attention_levels = {2};  // 16×16 at 64×64, as DDPM attends at 16×16
  std::int64_t norm_num_groups = 16;

  nlohmann::json to_json() const;
  static PixelUNetConfig from_json(const nlohmann::json& json, const std::string& source);
};

}  // namespace pawtrait::models
