#include "training/photo_dataset.h"

#include <ATen/ATen.h>

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
  std::vector<at::Tensor> images;
  for (const auto& file : files) {
    std::optional<imaging::CropBox> box;
    if (auto it = crops.find(file); it != crops.end()) box = it->second;
    const imaging::RgbImage square = imaging::square_crop(imaging::load_photo(file), size, box);
    at::Tensor t = at::from_blob(const_cast<std::uint8_t*>(square.rgb.data()), {size, size, 3}, at::kByte).clone();
    images.push_back(t.permute({2, 0, 1}).to(at::kFloat) / 127.5 - 1.0);
  }
  return at::stack(images);
}

}  // namespace pawtrait::training
