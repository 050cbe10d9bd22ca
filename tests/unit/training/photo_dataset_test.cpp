// Photos into training pictures by aspect-ratio bucket, against sizes and crops worked out by
// hand; batches drawn within one bucket; the validation batches of the first photos per bucket.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <set>

#include "bucket_photos.h"
#include "imaging/photo_mask.h"
#include "schedulers/noise_process.h"
#include "test_support.h"
#include "training/dreambooth_run.h"
#include "training/latent_cache.h"
#include "training/photo_dataset.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;
using Pair = std::array<std::int64_t, 2>;

fs::path chelsea() { return testing::testdata() / "photos" / "chelsea.png"; }

class TrainingPhotosTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    const imaging::RgbImage cat = imaging::load_photo(chelsea());  // 451 × 300
    const auto wide_and_tall = testing_support::wide_and_tall_photos(path("photos"));
    files_ = {chelsea(), wide_and_tall[1], wide_and_tall[0],
              testing_support::save_region(cat, 75, 0, 300, 300, path("square.png"))};
  }
  std::vector<fs::path> files_;
};

TEST(BucketStep, SixtyFourPixelsOrAnEighthOfASmallResolutionInTheFamilysMultiple) {
  EXPECT_EQ(imaging::bucket_step(512, 8), 64);    // Stable Diffusion 1.x
  EXPECT_EQ(imaging::bucket_step(1024, 8), 64);   // SDXL: its published buckets
  EXPECT_EQ(imaging::bucket_step(1024, 16), 64);  // FLUX.2 [klein]
  EXPECT_EQ(imaging::bucket_step(256, 8), 32);
  EXPECT_EQ(imaging::bucket_step(64, 8), 8);  // the tiny test models
  EXPECT_EQ(imaging::bucket_step(64, 16), 16);
  EXPECT_EQ(imaging::bucket_step(64, 1), 8);
}

TEST_F(TrainingPhotosTest, EachPhotoGoesToTheBucketOfItsShape) {
  // At 64² pixels in steps of 8 (bucket_step(64, 8)), worked out by hand:
  //  451 × 300 (aspect 1.503): 80 × 48 (1.667, log distance 0.103) beats 72 × 56 (1.286, 0.156);
  //    covered at 80 / 451 → 80 × 53 (53.2), cut at top round(53 / 2 − 24) = 3 (half away from 0).
  //  200 × 300 (0.667): 48 × 80; covered at 80 / 300 → 53 (53.3) × 80, cut at left 3; its mirror
  //    at 53 − 48 − 3 = 2.
  //  300 × 300: the square, uncut.
  const TrainingPhotos photos = load_training_photos(files_, 64, 8);
  ASSERT_EQ(photos.groups.size(), 3u);
  EXPECT_EQ(photos.groups[0].bucket, (imaging::Bucket{80, 48}));
  EXPECT_EQ(photos.groups[0].photos, (std::vector<std::int64_t>{0, 2}));
  EXPECT_EQ(photos.groups[0].pixels.sizes(), (std::vector<std::int64_t>{2, 3, 48, 80}));
  EXPECT_EQ(photos.groups[1].bucket, (imaging::Bucket{48, 80}));
  EXPECT_EQ(photos.groups[1].photos, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(photos.groups[1].pixels.sizes(), (std::vector<std::int64_t>{1, 3, 80, 48}));
  EXPECT_EQ(photos.groups[2].bucket, (imaging::Bucket{64, 64}));
  EXPECT_EQ(photos.groups[2].photos, (std::vector<std::int64_t>{3}));
  // The same pixels make the same picture: chelsea.png and its copy.
  EXPECT_TRUE(at::equal(photos.groups[0].pixels[0], photos.groups[0].pixels[1]));
  EXPECT_LE(photos.groups[0].pixels.abs().max().item<double>(), 1.0);

  ASSERT_EQ(photos.placements.size(), 4u);
  const PhotoPlacement& wide = photos.placements[0];
  EXPECT_EQ(wide.original_size, (Pair{300, 451}));
  EXPECT_EQ(wide.crop_top_left, (Pair{3, 0}));
  EXPECT_EQ(wide.mirrored_crop_top_left, (Pair{3, 0}));
  EXPECT_EQ(wide.target_size, (Pair{48, 80}));
  const PhotoPlacement& tall = photos.placements[1];
  EXPECT_EQ(tall.original_size, (Pair{300, 200}));
  EXPECT_EQ(tall.crop_top_left, (Pair{0, 3}));
  EXPECT_EQ(tall.mirrored_crop_top_left, (Pair{0, 2}));
  EXPECT_EQ(tall.target_size, (Pair{80, 48}));
  EXPECT_EQ(photos.placements[3].target_size, (Pair{64, 64}));
  EXPECT_EQ(describe_groups(photos), "80×48 (2 photos), 48×80 (1 photo), 64×64 (1 photo)");
}

TEST_F(TrainingPhotosTest, TheBucketPictureIsTheCoveredPhotoCut) {
  // The tall photo's picture: the photo resized to 53 × 80, columns 3 to 50.
  const imaging::RgbImage tall = imaging::load_photo(files_[1]);
  const imaging::BucketCrop crop{{48, 80}, 53, 80, 3, 0};
  const imaging::RgbImage picture = imaging::bucket_image(tall, crop);
  ASSERT_EQ(picture.width, 48);
  ASSERT_EQ(picture.height, 80);
  const TrainingPhotos photos = load_training_photos({files_[1]}, 64, 8);
  const at::Tensor expected =
      at::from_blob(const_cast<std::uint8_t*>(picture.rgb.data()), {80, 48, 3}, at::kByte).permute({2, 0, 1});
  EXPECT_TRUE(at::equal(((photos.groups[0].pixels[0] + 1.0) * 127.5).round().to(at::kByte), expected));
  // A bucket that does not fit the resized photo is refused, not read past its edge.
  EXPECT_THROW_MESSAGE(imaging::bucket_image(tall, {{48, 80}, 53, 80, 6, 0}), "does not fit", "53×80");
}

TEST_F(TrainingPhotosTest, AChosenBoxIsBucketedByItsOwnShape) {
  // A 300-pixel square box at x = 100 of the 451 × 300 photo: the square bucket, the box's
  // corner scaled by 64 / 300 (21.3 → 21) and its mirror's (51 · 64 / 300 = 10.9 → 11), as
  // with square crops.
  const TrainingPhotos photos = load_training_photos({chelsea()}, 64, 8, {{chelsea(), {0, {{100, 0, 300, 300}}}}});
  ASSERT_EQ(photos.groups.size(), 1u);
  EXPECT_EQ(photos.groups[0].bucket, (imaging::Bucket{64, 64}));
  EXPECT_EQ(photos.placements[0].crop_top_left, (Pair{0, 21}));
  EXPECT_EQ(photos.placements[0].mirrored_crop_top_left, (Pair{0, 11}));
  const PhotoBatch square = load_photo_batch({chelsea()}, 64, {{chelsea(), {0, {{100, 0, 300, 300}}}}});
  EXPECT_TRUE(at::equal(photos.groups[0].pixels, square.pixels));
}

TEST_F(TrainingPhotosTest, ATallBoxInAWidePhotoTrainsTall) {
  // A 160 × 300 box at x = 200 (aspect 0.533): 48 × 80 (0.6, log distance 0.118) beats 40 × 96
  // (0.417, 0.247); covered at 48 / 160 = 0.3 → 48 × 90, cut at top 90 / 2 − 40 = 5. In the
  // photo the box's corner scales to (0, 60), its mirror's to (0, 451 − 360 = 91 → 27.3).
  const TrainingPhotos photos = load_training_photos({chelsea()}, 64, 8, {{chelsea(), {0, {{200, 0, 160, 300}}}}});
  ASSERT_EQ(photos.groups.size(), 1u);
  EXPECT_EQ(photos.groups[0].bucket, (imaging::Bucket{48, 80}));
  EXPECT_EQ(photos.placements[0].crop_top_left, (Pair{5, 60}));
  EXPECT_EQ(photos.placements[0].mirrored_crop_top_left, (Pair{5, 27}));
  EXPECT_EQ(photos.placements[0].original_size, (Pair{300, 451}));
  // The same box trained square: its centred 160-pixel square.
  const PhotoBatch square = load_photo_batch({chelsea()}, 64, {{chelsea(), {0, {{200, 0, 160, 300}}}}});
  const PhotoBatch same = load_photo_batch({chelsea()}, 64, {{chelsea(), {0, {{200, 70, 160, 160}}}}});
  EXPECT_TRUE(at::equal(square.pixels, same.pixels));
}

TEST_F(TrainingPhotosTest, ATurnedPhotoIsBucketedTurned) {
  // chelsea.png turned a quarter is 300 × 451: the tall bucket.
  const TrainingPhotos photos = load_training_photos({chelsea()}, 64, 8, {{chelsea(), {1, {}}}});
  EXPECT_EQ(photos.groups[0].bucket, (imaging::Bucket{48, 80}));
  EXPECT_EQ(photos.placements[0].original_size, (Pair{451, 300}));
}

TEST_F(TrainingPhotosTest, SquareCropsAreOneGroupOfTheSquares) {
  const TrainingPhotos photos = load_training_photos(files_, 64, 0);
  ASSERT_EQ(photos.groups.size(), 1u);
  EXPECT_EQ(photos.groups[0].photos, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(at::equal(photos.groups[0].pixels, photos_to_tensor(files_, 64)));
  EXPECT_EQ(photos.placements[0].target_size, (Pair{64, 64}));
}

// Latents whose every value is the photo's number (std 0, so a draw is the mean).
LatentCache numbered(std::vector<std::int64_t> photos, std::int64_t h, std::int64_t w) {
  LatentCache cache;
  const auto n = static_cast<std::int64_t>(photos.size());
  cache.mean = at::tensor(photos, at::kLong).to(at::kFloat).view({n, 1, 1, 1}).expand({n, 4, h, w}).contiguous();
  cache.std = at::zeros_like(cache.mean);
  cache.photos = std::move(photos);
  return cache;
}

TEST(LatentGroupsDraw, ABatchComesFromOneBucketAndEveryPhotoAsOften) {
  const LatentGroups groups = {numbered({0, 2}, 6, 10), numbered({1}, 10, 6), numbered({3}, 8, 8)};
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  std::map<std::int64_t, int> first;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) {
    const LatentDraw draw = draw_latents(groups, 3, gen, 1.0);
    ASSERT_EQ(draw.latents.size(0), 3);
    std::set<std::int64_t> bucket_of;
    for (std::int64_t k = 0; k < 3; ++k) {
      const std::int64_t photo = draw.index[k].item<std::int64_t>();
      // The latents are those of the photo the index names.
      ASSERT_EQ(draw.latents[k].min().item<double>(), static_cast<double>(photo));
      ASSERT_EQ(draw.latents[k].max().item<double>(), static_cast<double>(photo));
      bucket_of.insert(photo == 1 ? 1 : photo == 3 ? 3 : 0);
    }
    ASSERT_EQ(bucket_of.size(), 1u) << "a batch mixes buckets";
    ++first[draw.index[0].item<std::int64_t>()];
  }
  // Each of the 4 photos starts a batch a quarter of the time: 1000 ± 27 (binomial σ), within 5σ.
  for (std::int64_t photo = 0; photo < 4; ++photo) EXPECT_NEAR(first[photo], kDraws / 4, 140) << photo;
}

TEST(LatentGroupsDraw, OneGroupDrawsExactlyAsItsCache) {
  LatentCache cache = numbered({0, 1, 2}, 4, 4);
  cache.std = at::full_like(cache.mean, 0.5);
  cache.flipped_mean = cache.mean + 10;
  cache.flipped_std = cache.std;
  at::Generator a = at::make_generator<at::CPUGeneratorImpl>(3), b = at::make_generator<at::CPUGeneratorImpl>(3);
  const LatentDraw grouped = draw_latents(LatentGroups{cache}, 2, a, 0.5);
  const LatentDraw plain = draw_latents(cache, 2, b, 0.5);
  EXPECT_TRUE(at::equal(grouped.latents, plain.latents));
  EXPECT_TRUE(at::equal(grouped.index, plain.index));
  EXPECT_TRUE(at::equal(grouped.flipped, plain.flipped));
}

TEST(ValidationBatches, TheFirstFourPhotosInTheirBuckets) {
  const schedulers::DiscreteNoiseProcess noise{schedulers::SchedulerConfig{}};
  const LatentGroups groups = {numbered({0, 2, 4}, 6, 10), numbered({1}, 10, 6), numbered({3, 5}, 8, 8)};
  const auto batches = make_validation_batches(noise, groups, 1.0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_TRUE(at::equal(batches[0].photo_index, at::tensor(std::vector<std::int64_t>{0, 2}, at::kLong)));
  EXPECT_EQ(batches[0].noisy.sizes(), (std::vector<std::int64_t>{10, 4, 6, 10}));  // five rounds of two
  EXPECT_TRUE(at::equal(batches[2].photo_index, at::tensor(std::vector<std::int64_t>{3}, at::kLong)));
  // The mean loss weights each batch by its photos: a model that predicts the target of photo
  // 0 and 2 exactly and misses the others by 1 scores 2 of 4 photos at 1, so 0.5.
  const double loss =
      validation_loss(batches, c10::kCPU, [&](const at::Tensor& noisy, const at::Tensor& t, const at::Tensor& photos) {
        // The round is found by its timesteps (each of the five rounds has its own).
        const ValidationBatch& b = noisy.size(2) == 6 ? batches[0] : noisy.size(2) == 10 ? batches[1] : batches[2];
        for (std::int64_t i = 0; i < b.noisy.size(0); i += b.photos) {
          if (at::equal(b.timesteps.slice(0, i, i + b.photos), t.cpu())) {
            const at::Tensor target = b.target.slice(0, i, i + b.photos);
            return photos[0].item<std::int64_t>() == 0 ? target : target + 1;
          }
        }
        ADD_FAILURE() << "a round that is not in the batch";
        return noisy;
      });
  EXPECT_NEAR(loss, 0.5, 1e-6);
}

TEST(MaskedLoss, AMaskedOutRegionDoesNotChangeTheGradientAtWeightZero) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor start = at::randn({2, 4, 6, 6}, gen);
  at::Tensor weights = at::ones({2, 1, 6, 6});
  weights.slice(3, 3) = 0.0;  // the right half is background, weight 0
  auto gradient = [&](const at::Tensor& target) {
    const at::Tensor prediction = start.clone().set_requires_grad(true);
    weighted_mse(prediction, target, weights).backward();
    return prediction.grad();
  };
  const at::Tensor target = at::randn({2, 4, 6, 6}, gen);
  at::Tensor elsewhere = target.clone();
  elsewhere.slice(3, 3) += 5.0;  // a different background
  EXPECT_TRUE(at::equal(gradient(target), gradient(elsewhere)));
  EXPECT_FALSE(at::equal(gradient(target), gradient(target + 1.0)));  // the pet's half counts
  // Weights of 1 everywhere: the plain mean; a weight of 0 everywhere: 0, not NaN.
  EXPECT_NEAR(weighted_mse(start, target, at::ones({2, 1, 6, 6})).item<double>(),
              (start - target).pow(2).mean().item<double>(), 1e-6);
  EXPECT_EQ(weighted_mse(start, target, at::zeros({2, 1, 6, 6})).item<double>(), 0.0);
}

TEST(MaskedLoss, TheMaskIsAveragedDownToTheLatentGrid) {
  // An 8 × 8 picture whose left half is the pet, on a 4 × 4 latent grid, background 0.1.
  TrainingPhotos photos;
  PhotoGroup group{{8, 8}, {0}, at::zeros({1, 3, 8, 8}), at::zeros({1, 1, 8, 8})};
  group.masks.slice(3, 0, 4) = 1.0;
  group.masks.select(3, 4) = 0.5;  // a soft edge: column 4 half pet
  photos.groups.push_back(group);
  LatentGroups latents = {numbered({0}, 4, 4)};
  latents[0].flipped_mean = latents[0].mean;
  attach_loss_weights(latents, photos, 0.1);
  const at::Tensor w = latents[0].weights[0][0];
  EXPECT_NEAR(w[0][0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(w[0][2].item<double>(), 0.1 + 0.9 * 0.25, 1e-6);  // half of the soft column
  EXPECT_NEAR(w[3][3].item<double>(), 0.1, 1e-6);
  EXPECT_TRUE(at::equal(latents[0].flipped_weights, latents[0].weights.flip({3})));  // mirrored with the photo
}

TEST_F(TrainingPhotosTest, MasksComeFromTheSidecarOrTheSubjectBoxAndAreCutLikeThePhoto) {
  // A sidecar: the left half of the 200 × 300 tall photo is the pet.
  const fs::path tall = files_[1];
  std::vector<std::uint8_t> rgb(200 * 300 * 3, 0);
  for (int y = 0; y < 300; ++y) std::fill_n(rgb.begin() + y * 200 * 3, 100 * 3, std::uint8_t{255});
  imaging::write_png(imaging::mask_sidecar_path(tall), rgb, 200, 300);
  const TrainingPhotos photos = load_training_photos({tall, chelsea()}, 64, 8, {}, /*with_masks=*/true);
  ASSERT_EQ(photos.groups.size(), 2u);
  const at::Tensor mask = photos.groups[0].masks[0][0];  // 48 × 80, cut at left 3 of 53
  ASSERT_EQ(mask.sizes(), (std::vector<std::int64_t>{80, 48}));
  EXPECT_NEAR(mask[40][0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(mask[40][47].item<double>(), 0.0, 1e-6);
  // chelsea.png has no sidecar: its suggested subject box, white inside.
  const at::Tensor boxed = photos.groups[1].masks[0][0];
  EXPECT_GT(boxed.mean().item<double>(), 0.2);
  EXPECT_LT(boxed.mean().item<double>(), 1.0);
  // A sidecar of another size is refused, saying so.
  imaging::write_png(imaging::mask_sidecar_path(tall), std::vector<std::uint8_t>(10 * 10 * 3, 255), 10, 10);
  EXPECT_THROW_MESSAGE(load_training_photos({tall}, 64, 8, {}, true), "tall-masklabel.png", "the photo's own size");
}

}  // namespace
}  // namespace pawtrait::training
