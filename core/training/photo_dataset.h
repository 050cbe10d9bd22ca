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
#include "imaging/aspect_buckets.h"
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

// The photos' squares at `size` × `size` (each photo turned as edited, its box's centred
// square), as one (n, 3, size, size) float tensor in [-1, 1].
at::Tensor photos_to_tensor(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoEdits& edits = {});

// Where a training square came from, in the terms of SDXL's size conditioning (what diffusers'
// SDXL DreamBooth script records), (height, width) and (top, left) in pixels: the upright
// photo's size, and the square's corner in the photo scaled so that the square is `size`
// pixels wide. Without a chosen crop, the script's centre crop: the shorter side resized to
// `size` (the longer one truncated, as torchvision does), the corner rounded half to even.
// The mirrored square's corner is measured in the mirrored photo.
struct PhotoPlacement {
  std::array<std::int64_t, 2> original_size{}, crop_top_left{}, mirrored_crop_top_left{};
  std::array<std::int64_t, 2> target_size{};  // the training picture's (height, width)
};
PhotoPlacement photo_placement(std::int64_t width, std::int64_t height, std::int64_t size,
                               const std::optional<imaging::CropBox>& square);

// photos_to_tensor's squares with each one's placement.
struct PhotoBatch {
  at::Tensor pixels;
  std::vector<PhotoPlacement> placements;
};
PhotoBatch load_photo_batch(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoEdits& edits = {});

// The training pictures grouped by size: a batch is drawn within one group.
struct PhotoGroup {
  imaging::Bucket bucket;
  std::vector<std::int64_t> photos;  // which of the files, in order
  at::Tensor pixels;                 // (n, 3, height, width) float in [-1, 1]
  at::Tensor masks;                  // with masks: (n, 1, height, width) in [0, 1], 1 on the pet
};
struct TrainingPhotos {
  std::vector<PhotoGroup> groups;          // in order of their first photo
  std::vector<PhotoPlacement> placements;  // by file
};

// The photos as training pictures. With `bucket_step` > 0 each goes to the aspect-ratio bucket
// nearest its shape (its edited box's, when it has one) at resolution² pixels, resized to cover
// it and cut around its centre; with 0 all are resolution-sized squares (load_photo_batch).
// With `with_masks`, each picture's subject mask (imaging::subject_mask) cut the same way.
TrainingPhotos load_training_photos(const std::vector<std::filesystem::path>& files, std::int64_t resolution,
                                    std::int64_t bucket_step, const imaging::PhotoEdits& edits = {},
                                    bool with_masks = false);

// "512×512 (3 photos), 448×576 (1 photo)": for the log.
std::string describe_groups(const TrainingPhotos& photos);

}  // namespace pawtrait::training
