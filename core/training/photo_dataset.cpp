#include "training/photo_dataset.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "imaging/photo.h"
#include "imaging/photo_mask.h"

namespace pawtrait::training {
namespace {

imaging::PhotoEdit edit_of(const imaging::PhotoEdits& edits, const std::filesystem::path& file) {
  const auto it = edits.find(file);
  return it == edits.end() ? imaging::PhotoEdit{} : it->second;
}

}  // namespace

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
                            const imaging::PhotoEdits& edits) {
  return load_photo_batch(files, size, edits).pixels;
}

PhotoPlacement photo_placement(std::int64_t width, std::int64_t height, std::int64_t size,
                               const std::optional<imaging::CropBox>& square) {
  PhotoPlacement p;
  p.original_size = {height, width};
  p.target_size = {size, size};
  if (square) {
    const double scale = static_cast<double>(size) / static_cast<double>(square->width);
    auto scaled = [&](std::int64_t v) {
      return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(v) * scale));
    };
    p.crop_top_left = {scaled(square->y), scaled(square->x)};
    p.mirrored_crop_top_left = {scaled(square->y), scaled(width - square->x - square->width)};
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
                            const imaging::PhotoEdits& edits) {
  PhotoBatch batch;
  std::vector<at::Tensor> images;
  for (const auto& file : files) {
    const imaging::PhotoEdit edit = edit_of(edits, file);
    const imaging::RgbImage photo = imaging::load_edited_photo(file, edit);
    const imaging::RgbImage square = imaging::square_crop(photo, size, edit.box);
    std::optional<imaging::CropBox> chosen;
    if (edit.box) chosen = imaging::centred_square(*edit.box);
    batch.placements.push_back(photo_placement(photo.width, photo.height, size, chosen));
    at::Tensor t = at::from_blob(const_cast<std::uint8_t*>(square.rgb.data()), {size, size, 3}, at::kByte).clone();
    images.push_back(t.permute({2, 0, 1}).to(at::kFloat) / 127.5 - 1.0);
  }
  batch.pixels = at::stack(images);
  return batch;
}

namespace {

at::Tensor to_pixels(const imaging::RgbImage& image) {
  at::Tensor t = at::from_blob(const_cast<std::uint8_t*>(image.rgb.data()), {image.height, image.width, 3}, at::kByte);
  return t.permute({2, 0, 1}).to(at::kFloat) / 127.5 - 1.0;
}

// A mask's first channel as (1, h, w) in [0, 1].
at::Tensor mask_of(const imaging::RgbImage& mask) {
  const at::Tensor t =
      at::from_blob(const_cast<std::uint8_t*>(mask.rgb.data()), {mask.height, mask.width, 3}, at::kByte);
  return t.select(2, 0).unsqueeze(0).to(at::kFloat) / 255.0;
}

// Where the bucket's picture lies in the photo, in SDXL's terms: the photo's size, the cut's
// corner in the photo resized to cover the bucket (the chosen box's corner scaled with it),
// and the same in the mirrored photo.
PhotoPlacement bucket_placement(const imaging::RgbImage& photo, const imaging::BucketCrop& crop,
                                const std::optional<imaging::CropBox>& box) {
  PhotoPlacement p;
  p.original_size = {photo.height, photo.width};
  p.target_size = {crop.bucket.height, crop.bucket.width};
  const std::int64_t region_width = box ? box->width : photo.width;
  const double scale = static_cast<double>(crop.resized_width) / static_cast<double>(region_width);
  auto scaled = [&](std::int64_t v) {
    return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(v) * scale));
  };
  const std::int64_t box_left = box ? box->x : 0, box_top = box ? box->y : 0;
  const std::int64_t box_right = box ? photo.width - box->x - box->width : 0;
  const std::int64_t mirrored_left = crop.resized_width - crop.bucket.width - crop.left;
  p.crop_top_left = {scaled(box_top) + crop.top, scaled(box_left) + crop.left};
  p.mirrored_crop_top_left = {scaled(box_top) + crop.top, scaled(box_right) + mirrored_left};
  return p;
}

}  // namespace

TrainingPhotos load_training_photos(const std::vector<std::filesystem::path>& files, std::int64_t resolution,
                                    std::int64_t bucket_step, const imaging::PhotoEdits& edits, bool with_masks) {
  TrainingPhotos out;
  if (bucket_step <= 0) {
    PhotoBatch batch = load_photo_batch(files, resolution, edits);
    PhotoGroup all{{resolution, resolution}, {}, batch.pixels, {}};
    std::vector<at::Tensor> masks;
    for (std::size_t i = 0; i < files.size(); ++i) {
      all.photos.push_back(static_cast<std::int64_t>(i));
      if (!with_masks) continue;
      const imaging::PhotoEdit edit = edit_of(edits, files[i]);
      const imaging::RgbImage photo = imaging::load_edited_photo(files[i], edit);
      masks.push_back(mask_of(
          imaging::square_crop(imaging::subject_mask(files[i], photo, edit.quarter_turns), resolution, edit.box)));
    }
    if (with_masks) all.masks = at::stack(masks);
    out.groups.push_back(std::move(all));
    out.placements = std::move(batch.placements);
    return out;
  }
  const std::vector<imaging::Bucket> buckets = imaging::aspect_buckets(resolution, bucket_step);
  std::vector<std::vector<at::Tensor>> pixels, masks;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const imaging::PhotoEdit edit = edit_of(edits, files[i]);
    const std::optional<imaging::CropBox>& box = edit.box;
    const imaging::RgbImage photo = imaging::load_edited_photo(files[i], edit);
    const std::int64_t w = box ? box->width : photo.width, h = box ? box->height : photo.height;
    const imaging::BucketCrop crop = imaging::bucket_crop(w, h, imaging::nearest_bucket(w, h, buckets));
    const at::Tensor picture = to_pixels(imaging::bucket_image(photo, crop, box));
    out.placements.push_back(bucket_placement(photo, crop, box));
    auto group = std::find_if(out.groups.begin(), out.groups.end(),
                              [&](const PhotoGroup& g) { return g.bucket == crop.bucket; });
    if (group == out.groups.end()) {
      out.groups.push_back({crop.bucket, {}, {}, {}});
      pixels.emplace_back();
      masks.emplace_back();
      group = std::prev(out.groups.end());
    }
    group->photos.push_back(static_cast<std::int64_t>(i));
    const auto g = static_cast<std::size_t>(group - out.groups.begin());
    pixels[g].push_back(picture);
    if (with_masks) {
      masks[g].push_back(
          mask_of(imaging::bucket_image(imaging::subject_mask(files[i], photo, edit.quarter_turns), crop, box)));
    }
  }
  for (std::size_t g = 0; g < out.groups.size(); ++g) {
    out.groups[g].pixels = at::stack(pixels[g]);
    if (with_masks) out.groups[g].masks = at::stack(masks[g]);
  }
  return out;
}

std::string describe_groups(const TrainingPhotos& photos) {
  std::string text;
  for (const PhotoGroup& g : photos.groups) {
    const std::size_t n = g.photos.size();
    text += (text.empty() ? "" : ", ") + std::to_string(g.bucket.width) + "×" + std::to_string(g.bucket.height) + " (" +
            std::to_string(n) + (n == 1 ? " photo)" : " photos)");
  }
  return text;
}

}  // namespace pawtrait::training
