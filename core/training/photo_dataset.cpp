#include "training/photo_dataset.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "imaging/photo.h"

namespace pawtrait::training {

PhotoSelection select_photos(const std::vector<std::filesystem::path>& files_or_folders, std::int64_t resolution,
                             const LogSink& log) {
  const auto files = imaging::find_photos(files_or_folders);
  PhotoSelection selection;
  for (const auto& check : imaging::check_photos(files, resolution)) {
    if (check.verdict == imaging::PhotoVerdict::Ok) {
      selection.usable.push_back(check.path);
      if (!check.warning.empty()) log_to(log, LogLevel::Warning, check.path.string() + " " + check.warning);
    } else {
      selection.skipped.push_back(check.path.string() + ": " + check.reason);
      log_to(log, LogLevel::Warning, "skipping " + check.path.string() + ": " + check.reason);
    }
  }
  if (selection.usable.empty()) {
    throw Error(files.empty() ? "no photos found; give photo files or a folder of them (JPEG, PNG, WebP, HEIC, ...)"
                              : "none of the " + std::to_string(files.size()) +
                                    " photos can be used (see the reasons above); add clear photos of your pet, "
                                    "at least " +
                                    std::to_string(resolution / 2) + " pixels on the shorter side");
  }
  return selection;
}

at::Tensor photos_to_tensor(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoCrops& crops) {
  return load_photo_batch(files, size, crops).pixels;
}

PhotoPlacement photo_placement(std::int64_t width, std::int64_t height, std::int64_t size,
                               const std::optional<imaging::CropBox>& box) {
  PhotoPlacement p;
  p.original_size = {height, width};
  if (box) {
    const double scale = static_cast<double>(size) / static_cast<double>(box->size);
    auto scaled = [&](std::int64_t v) {
      return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(v) * scale));
    };
    p.crop_top_left = {scaled(box->y), scaled(box->x)};
    p.mirrored_crop_top_left = {scaled(box->y), scaled(width - box->x - box->size)};
    return p;
  }
  const std::int64_t shorter = std::min(width, height), longer = std::max(width, height);
  const auto resized_longer =
      static_cast<std::int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
  const std::int64_t resized_w = width <= height ? size : resized_longer;
  const std::int64_t resized_h = width <= height ? resized_longer : size;
  auto centred = [&](std::int64_t side) {
    return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::nearbyint(static_cast<double>(side - size) / 2.0)));
  };
  p.crop_top_left = {centred(resized_h), centred(resized_w)};
  p.mirrored_crop_top_left = {p.crop_top_left[0], std::max<std::int64_t>(0, resized_w - size - p.crop_top_left[1])};
  return p;
}

PhotoBatch load_photo_batch(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoCrops& crops) {
  PhotoBatch batch;
  std::vector<at::Tensor> images;
  for (const auto& file : files) {
    std::optional<imaging::CropBox> box;
    if (auto it = crops.find(file); it != crops.end()) box = it->second;
    const imaging::RgbImage photo = imaging::load_photo(file);
    batch.placements.push_back(photo_placement(photo.width, photo.height, size, box));
    const imaging::RgbImage square = imaging::square_crop(photo, size, box);
    at::Tensor t = at::from_blob(const_cast<std::uint8_t*>(square.rgb.data()), {size, size, 3}, at::kByte).clone();
    images.push_back(t.permute({2, 0, 1}).to(at::kFloat) / 127.5 - 1.0);
  }
  batch.pixels = at::stack(images);
  return batch;
}

}  // namespace pawtrait::training
