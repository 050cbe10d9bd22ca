#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "imaging/photo.h"

namespace pawtrait::training {

struct PhotoSelection {
  std::vector<std::filesystem::path> usable;
  std::vector<std::string> skipped;  // "<file>: <reason>"
};

// Finds the photos among files and folders, checks each (readable, large enough for
// `resolution`, not a duplicate) and logs why any is skipped. Throws pawtrait::Error when
// none is usable.
PhotoSelection select_photos(const std::vector<std::filesystem::path>& files_or_folders, std::int64_t resolution,
                             const LogSink& log);

// The photos' squares at `size` × `size`, as one (n, 3, size, size) float tensor in [-1, 1].
at::Tensor photos_to_tensor(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoCrops& crops = {});

// Where a training square came from, in the terms of SDXL's size conditioning (what diffusers'
// SDXL DreamBooth script records), (height, width) and (top, left) in pixels: the upright
// photo's size, and the square's corner in the photo scaled so that the square is `size`
// pixels wide. Without a chosen crop, the script's centre crop: the shorter side resized to
// `size` (the longer one truncated, as torchvision does), the corner rounded half to even.
// The mirrored square's corner is measured in the mirrored photo.
struct PhotoPlacement {
  std::array<std::int64_t, 2> original_size{}, crop_top_left{}, mirrored_crop_top_left{};
};
PhotoPlacement photo_placement(std::int64_t width, std::int64_t height, std::int64_t size,
                               const std::optional<imaging::CropBox>& box);

// photos_to_tensor's squares with each one's placement.
struct PhotoBatch {
  at::Tensor pixels;
  std::vector<PhotoPlacement> placements;
};
PhotoBatch load_photo_batch(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoCrops& crops = {});

}  // namespace pawtrait::training
