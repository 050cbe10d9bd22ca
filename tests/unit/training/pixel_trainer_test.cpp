// The built-in pixel DDPM: trains on the demo photo with a falling loss, keeps its model on
// cancel, refuses photo sets with nothing usable, and samples from what it saved.
#include "families/builtin/pixel_trainer.h"
#include "families/builtin/pixel_model.h"

#include <ATen/ATen.h>

#include <fstream>
#include <iostream>

#include "common/error.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

PixelTrainRequest small_request(const fs::path& run_dir) {
  PixelTrainRequest r;
  r.photos = {testing::testdata() / "photos"};
  r.run_dir = run_dir;
  r.model.resolution = 32;
  r.model.block_out_channels = {16, 32};
  r.model.attention_levels = {1};
  r.model.norm_num_groups = 8;
  r.steps = 60;
  r.batch_size = 4;
  r.preview_every = 0;
  r.validate_every = 10;
  r.checkpoint_every = 0;
  return r;
}

class PixelTrainer : public testing::TempDirTest {};

TEST_F(PixelTrainer, LossFallsAndTheModelSamples) {
  std::vector<double> validation;
  TrainCallbacks callbacks;
  callbacks.on_progress = [&](const TrainProgress& p) {
    if (p.validation_loss >= 0) validation.push_back(p.validation_loss);
  };
  const PixelTrainResult result = train_pixel_model(small_request(path("run")), callbacks);
  EXPECT_EQ(result.steps_done, 60);
  ASSERT_GE(validation.size(), 6u);
  // The validation loss uses fixed timesteps and noise, so it is comparable across steps.
  EXPECT_LT(validation.back(), 0.5 * validation.front()) << validation.front() << " → " << validation.back();
  EXPECT_TRUE(fs::exists(path("run/config.json")));
  EXPECT_TRUE(fs::exists(path("run/loss.csv")));

  PixelModel model = load_pixel_model(path("run"));
  EXPECT_EQ(model.config.resolution, 32);
  const auto images = sample_pixel_model(model, "ddim", 10, /*seed=*/3, /*count=*/2);
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0].size(), 32u * 32u * 3u);
  EXPECT_NE(images[0], images[1]);
  // A seed is a picture: alone, twice, byte for byte.
  const auto alone = sample_pixel_model(model, "ddim", 10, 3, 1)[0];
  EXPECT_EQ(sample_pixel_model(model, "ddim", 10, 3, 1)[0], alone);
  // In a batch the same seed draws the same noise, but float32 convolutions over two images
  // need not sum in the order they do over one (oneDNN picks its kernel by batch size: under
  // ATEN_CPU_CAPABILITY=avx2 they differ), so an 8-bit level may round the other way.
  int largest = 0;
  for (std::size_t i = 0; i < alone.size(); ++i) largest = std::max(largest, std::abs(alone[i] - images[0][i]));
  std::cout << "[ measured ] seed 3 alone vs first of a batch of 2: largest difference " << largest << " of 255\n";
  EXPECT_LE(largest, 1);
}

TEST_F(PixelTrainer, SameSeedSameRun) {
  PixelTrainRequest r = small_request(path("a"));
  r.steps = 5;
  train_pixel_model(r);
  r.run_dir = path("b");
  train_pixel_model(r);
  EXPECT_EQ(read_bytes(path("a/model.safetensors")), read_bytes(path("b/model.safetensors")));
}

// A run neither reseeds the process's generator (another job may be drawing from it) nor
// depends on its state: the same run with the global generator elsewhere makes the same model,
// and the global generator is where it was.
TEST_F(PixelTrainer, ARunLeavesTheProcesssGeneratorAlone) {
  PixelTrainRequest r = small_request(path("a"));
  r.steps = 3;
  at::manual_seed(7);
  train_pixel_model(r);
  const at::Tensor after = at::randn({4});  // what the other job draws next
  at::manual_seed(7);
  const at::Tensor untouched = at::randn({4});
  EXPECT_TRUE(at::equal(after, untouched)) << after << " vs " << untouched;

  at::manual_seed(12345);
  at::randn({1000});
  r.run_dir = path("b");
  train_pixel_model(r);
  EXPECT_EQ(read_bytes(path("a/model.safetensors")), read_bytes(path("b/model.safetensors")));
}

TEST_F(PixelTrainer, CancelKeepsTheModel) {
  std::atomic<bool> cancel{false};
  TrainCallbacks callbacks;
  callbacks.cancel = &cancel;
  callbacks.on_progress = [&](const TrainProgress& p) {
    if (p.step == 3) cancel = true;
  };
  const PixelTrainResult result = train_pixel_model(small_request(path("run")), callbacks);
  EXPECT_EQ(result.steps_done, 3);
  EXPECT_EQ(load_pixel_model(path("run")).config.resolution, 32);
}

TEST_F(PixelTrainer, ResumedRunEqualsAnUninterruptedOne) {
  PixelTrainRequest whole = small_request(path("whole"));
  whole.steps = 6;
  whole.validate_every = 3;  // at step 3 in both runs: the split run validates at its end too
  train_pixel_model(whole);
  PixelTrainRequest first = whole;
  first.run_dir = path("split");
  first.steps = 3;
  train_pixel_model(first);
  PixelTrainRequest rest = read_pixel_run_request(path("split"));
  rest.steps = 6;
  EXPECT_EQ(train_pixel_model(rest).steps_done, 6);
  const auto a = tensors::SafetensorsFile::open(path("whole") / "model.safetensors");
  const auto b = tensors::SafetensorsFile::open(path("split") / "model.safetensors");
  ASSERT_EQ(a.entries().size(), b.entries().size());
  for (const auto& entry : a.entries()) EXPECT_TRUE(at::equal(a.tensor(entry), b.tensor(entry.name))) << entry.name;
  std::ifstream ca(path("whole") / "loss.csv"), cb(path("split") / "loss.csv");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(ca), {}), std::string(std::istreambuf_iterator<char>(cb), {}));
}

TEST_F(PixelTrainer, NoUsablePhotoIsAnError) {
  write_bytes("photos/broken.jpg", "not a photo");
  PixelTrainRequest r = small_request(path("run"));
  r.photos = {path("photos")};
  EXPECT_THROW_MESSAGE(train_pixel_model(r), "none of the 1 photos can be used");
  r.photos = {path("empty")};
  fs::create_directories(path("empty"));
  EXPECT_THROW_MESSAGE(train_pixel_model(r), "no photos found");
  EXPECT_THROW_MESSAGE(load_pixel_model(path("nowhere")), "train the built-in model first");
}

}  // namespace
}  // namespace pawtrait::training
