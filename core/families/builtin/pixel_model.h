#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "families/builtin/pixel_unet.h"

namespace pawtrait::training {

// A trained built-in model, ready to sample.
struct PixelModel {
  models::PixelUNetConfig config;
  models::PixelUNet unet{nullptr};
};
PixelModel load_pixel_model(const std::filesystem::path& run_dir_or_weights);

// Samples `count` images (seed, seed+1, …) with a sampler of the registry on the linear
// schedule; 8-bit RGB.
std::vector<std::vector<std::uint8_t>> sample_pixel_model(PixelModel& model, const std::string& sampler,
                                                          std::int64_t steps, std::uint64_t seed, std::int64_t count);

}  // namespace pawtrait::training
