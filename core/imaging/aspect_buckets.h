#pragma once

#include <cstdint>
#include <vector>

namespace pawtrait::imaging {

// One training picture size, in pixels: an aspect-ratio bucket.
struct Bucket {
  std::int64_t width = 0, height = 0;
  bool operator==(const Bucket&) const = default;
};

// The aspect-ratio buckets for training at resolution² pixels (NovelAI's bucketing, as kohya's
// and OneTrainer's trainers make them): the square, and for each width from resolution / 2 to
// 2 · resolution in steps of `step`, the tallest height of that step whose area stays within
// resolution² (and within the same side limits), each also turned on its side. `step` is the
// multiple of a side the family's denoiser wants. Sorted by aspect ratio, tallest first; no
// duplicates. Throws pawtrait::Error for a resolution that is not a positive multiple of step.
std::vector<Bucket> aspect_buckets(std::int64_t resolution, std::int64_t step);

// The bucket step for a family whose picture sides are multiples of `size_multiple`: 64 pixels
// (kohya's and OneTrainer's default, and the step of SDXL's published 1024-pixel buckets), an
// eighth of the resolution below 512 (so that a tiny test model has buckets too), rounded up to
// the family's multiple.
std::int64_t bucket_step(std::int64_t resolution, std::int64_t size_multiple);

// The bucket whose aspect ratio is nearest the photo's, compared as |log(w/h) − log(bw/bh)| (so
// that 2:1 is as far from square as 1:2); of two as near, the larger.
Bucket nearest_bucket(std::int64_t width, std::int64_t height, const std::vector<Bucket>& buckets);

// How a photo of width × height becomes its bucket: resized, keeping its aspect, to the smallest
// size that covers the bucket, then cropped to it. (left, top) place the crop in the resized
// photo: SDXL's crop_top_left, as diffusers' SDXL trainers fill it.
struct BucketCrop {
  Bucket bucket;
  std::int64_t resized_width = 0, resized_height = 0;
  std::int64_t left = 0, top = 0;
};

// The crop is centred on (centre_x, centre_y), fractions of the photo's width and height (the
// subject's box; the photo's centre by default), as near as the photo's edges allow.
BucketCrop bucket_crop(std::int64_t width, std::int64_t height, const Bucket& bucket, double centre_x = 0.5,
                       double centre_y = 0.5);

}  // namespace pawtrait::imaging
