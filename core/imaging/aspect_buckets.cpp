#include "imaging/aspect_buckets.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace pawtrait::imaging {

std::vector<Bucket> aspect_buckets(std::int64_t resolution, std::int64_t step) {
  if (step <= 0 || resolution <= 0 || resolution % step != 0) {
    throw Error("the training resolution " + std::to_string(resolution) + " must be a positive multiple of " +
                std::to_string(step) +
                " for aspect-ratio buckets; choose another resolution, or train on square crops");
  }
  const std::int64_t area = resolution * resolution;
  const std::int64_t shortest = std::max(step, (resolution / 2) / step * step);
  const std::int64_t longest = 2 * resolution;
  std::vector<Bucket> buckets = {{resolution, resolution}};
  for (std::int64_t width = shortest; width <= longest; width += step) {
    const std::int64_t height = std::min(longest, area / width / step * step);
    if (height < shortest) continue;
    buckets.push_back({width, height});
    buckets.push_back({height, width});
  }
  std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) {
    // By aspect ratio (a.w / a.h < b.w / b.h, exactly), then by width.
    const std::int64_t left = a.width * b.height, right = b.width * a.height;
    return left != right ? left < right : a.width < b.width;
  });
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  return buckets;
}

std::int64_t bucket_step(std::int64_t resolution, std::int64_t size_multiple) {
  const std::int64_t multiple = std::max<std::int64_t>(1, size_multiple);
  const std::int64_t wanted = std::max<std::int64_t>(1, std::min<std::int64_t>(64, resolution / 8));
  return (wanted + multiple - 1) / multiple * multiple;
}

Bucket nearest_bucket(std::int64_t width, std::int64_t height, const std::vector<Bucket>& buckets) {
  if (buckets.empty() || width <= 0 || height <= 0) {
    throw Error("no aspect-ratio bucket for a " + std::to_string(width) + "×" + std::to_string(height) + " photo");
  }
  const double aspect = std::log(static_cast<double>(width) / static_cast<double>(height));
  const Bucket* best = nullptr;
  double best_distance = 0;
  for (const Bucket& b : buckets) {
    const double distance = std::abs(aspect - std::log(static_cast<double>(b.width) / static_cast<double>(b.height)));
    const bool nearer = best == nullptr || distance < best_distance - 1e-12;
    const bool as_near_and_larger = best != nullptr && std::abs(distance - best_distance) <= 1e-12 &&
                                    b.width * b.height > best->width * best->height;
    if (nearer || as_near_and_larger) {
      best = &b;
      best_distance = distance;
    }
  }
  return *best;
}

BucketCrop bucket_crop(std::int64_t width, std::int64_t height, const Bucket& bucket, double centre_x,
                       double centre_y) {
  if (width <= 0 || height <= 0 || bucket.width <= 0 || bucket.height <= 0) {
    throw Error("cannot crop a " + std::to_string(width) + "×" + std::to_string(height) + " photo to a " +
                std::to_string(bucket.width) + "×" + std::to_string(bucket.height) + " bucket");
  }
  const double scale = std::max(static_cast<double>(bucket.width) / static_cast<double>(width),
                                static_cast<double>(bucket.height) / static_cast<double>(height));
  BucketCrop crop;
  crop.bucket = bucket;
  crop.resized_width = std::max<std::int64_t>(bucket.width, std::llround(static_cast<double>(width) * scale));
  crop.resized_height = std::max<std::int64_t>(bucket.height, std::llround(static_cast<double>(height) * scale));
  auto place = [](double centre, std::int64_t resized, std::int64_t side) {
    const std::int64_t offset =
        std::llround(std::clamp(centre, 0.0, 1.0) * static_cast<double>(resized) - static_cast<double>(side) / 2.0);
    return std::clamp<std::int64_t>(offset, 0, resized - side);
  };
  crop.left = place(centre_x, crop.resized_width, bucket.width);
  crop.top = place(centre_y, crop.resized_height, bucket.height);
  return crop;
}

}  // namespace pawtrait::imaging
