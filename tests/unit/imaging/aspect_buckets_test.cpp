// Aspect-ratio buckets (imaging/aspect_buckets.h) against cases worked out by hand: the list at
// 512² in steps of 64 whole, SDXL's best-known sizes at 1024², a phone's portrait and landscape
// photos, a panorama, and the crop following the subject's box to the photo's edge.
#include "imaging/aspect_buckets.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"

namespace pawtrait::imaging {
namespace {

TEST(AspectBuckets, At512InStepsOf64) {
  // Widths 256…1024; each the tallest multiple of 64 within 512² and 1024 (w = 320: 262144 / 320
  // = 819.2 → 768), and turned on its side; the seventeen that differ, tallest first.
  const std::vector<Bucket> want = {{256, 1024}, {256, 960}, {256, 896}, {256, 832}, {320, 768}, {320, 704},
                                    {384, 640},  {448, 576}, {512, 512}, {576, 448}, {640, 384}, {704, 320},
                                    {768, 320},  {832, 256}, {896, 256}, {960, 256}, {1024, 256}};
  EXPECT_EQ(aspect_buckets(512, 64), want);
}

TEST(AspectBuckets, At1024TheyAreSdxlsSizes) {
  const std::vector<Bucket> buckets = aspect_buckets(1024, 64);
  for (const Bucket& b : {Bucket{1024, 1024}, Bucket{896, 1152}, Bucket{1152, 896}, Bucket{832, 1216},
                          Bucket{768, 1344}, Bucket{1344, 768}}) {
    EXPECT_NE(std::find(buckets.begin(), buckets.end(), b), buckets.end()) << b.width << "×" << b.height;
  }
  for (const Bucket& b : buckets) {
    EXPECT_LE(b.width * b.height, 1024 * 1024);
    EXPECT_EQ(b.width % 64, 0);
    EXPECT_EQ(b.height % 64, 0);
  }
}

TEST(AspectBuckets, ARefusedResolutionSaysWhatToDo) {
  EXPECT_THROW(aspect_buckets(500, 64), Error);
  EXPECT_THROW(aspect_buckets(512, 0), Error);
}

TEST(NearestBucket, APhonesPortraitAndLandscapePhotos) {
  const std::vector<Bucket> buckets = aspect_buckets(512, 64);
  // 3024×4032 is 0.75; 448×576 is 0.778 (|log| 0.036 away), 384×640 is 0.6 (0.223 away).
  EXPECT_EQ(nearest_bucket(3024, 4032, buckets), (Bucket{448, 576}));
  EXPECT_EQ(nearest_bucket(4032, 3024, buckets), (Bucket{576, 448}));
  EXPECT_EQ(nearest_bucket(1000, 1000, buckets), (Bucket{512, 512}));
  EXPECT_EQ(nearest_bucket(4000, 1000, buckets), (Bucket{1024, 256}));  // 4:1 exactly
  EXPECT_EQ(nearest_bucket(9000, 1000, buckets), (Bucket{1024, 256}));  // beyond the widest
  EXPECT_THROW(nearest_bucket(0, 10, buckets), Error);
}

TEST(BucketCrop, CoversTheBucketAndCropsAroundTheCentre) {
  // 3024×4032 to 448×576: scale max(448/3024, 576/4032) = 0.148148 → 448×597 (597.33 rounded);
  // centred: top = round(0.5 · 597 − 288) = round(10.5) = 11, of 0…21.
  BucketCrop c = bucket_crop(3024, 4032, {448, 576});
  EXPECT_EQ(c.resized_width, 448);
  EXPECT_EQ(c.resized_height, 597);
  EXPECT_EQ(c.left, 0);
  EXPECT_EQ(c.top, 11);
  c = bucket_crop(4032, 3024, {576, 448});
  EXPECT_EQ(c.resized_width, 597);
  EXPECT_EQ(c.resized_height, 448);
  EXPECT_EQ(c.left, 11);
  EXPECT_EQ(c.top, 0);
  c = bucket_crop(1000, 1000, {512, 512});
  EXPECT_EQ(c.resized_width, 512);
  EXPECT_EQ(c.left + c.top, 0);
}

TEST(BucketCrop, FollowsTheSubjectUpToThePhotosEdges) {
  // The subject high in the photo: round(0.1 · 597 − 288) < 0 → 0; low: round(0.95 · 597 − 288)
  // = 279 > 21 → 21.
  EXPECT_EQ(bucket_crop(3024, 4032, {448, 576}, 0.5, 0.1).top, 0);
  EXPECT_EQ(bucket_crop(3024, 4032, {448, 576}, 0.5, 0.95).top, 21);
  // A square photo to the 576×448 bucket: scale max(0.576, 0.448) → 576×576, so only the height
  // is cropped: top = round(0.8 · 576 − 224) = 237, of 0…128 → 128; nothing to crop across.
  const BucketCrop c = bucket_crop(1000, 1000, {576, 448}, 0.8, 0.8);
  EXPECT_EQ(c.resized_width, 576);
  EXPECT_EQ(c.resized_height, 576);
  EXPECT_EQ(c.left, 0);
  EXPECT_EQ(c.top, 128);
}

}  // namespace
}  // namespace pawtrait::imaging
