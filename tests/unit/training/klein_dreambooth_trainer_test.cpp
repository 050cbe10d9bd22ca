// The FLUX.2 [klein] trainer's previews: a run on the base model draws them with the distilled
// model beside it and the run's LoRA as it is at that step -- the same picture the user gets
// from the distilled model with the exported file -- or with the base model when asked; a
// folder that cannot serve is refused before training.
#include <ATen/ATen.h>

#include <algorithm>
#include <iostream>

#include "bucket_photos.h"
#include "common/error.h"
#include "families/flux2/flux2_model.h"
#include "imaging/caption_sidecar.h"
#include "imaging/png_text.h"
#include "pipeline/text_to_image.h"
#include "test_support.h"
#include "training/dreambooth.h"
#include "training/dreambooth_run.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

fs::path klein() { return testing::testdata() / "klein"; }

TrainRequest tiny_request(const fs::path& run_dir) {
  TrainRequest r;
  r.photos = {testing::testdata() / "photos"};
  r.model = klein() / "klein-base-tiny";
  r.run_dir = run_dir;
  r.class_name = "cat";
  r.device = "cpu";
  r.resolution = 64;
  r.steps = 2;
  r.rank = 4;
  r.alpha = 8;
  // Large, so that two steps show: at 1e-2 the tiny model's random weights move the distilled
  // picture by one level of 255 in 378 of its 12288 bytes; at 1e-1 by up to 8, in 8783.
  r.learning_rate = 1e-1;
  r.seed = 7;
  r.preview_every = 2;
  r.validate_every = 0;
  r.checkpoint_every = 0;
  return r;
}

struct TrainedRun {
  TrainResult result;
  std::vector<TrainPreview> previews;
  std::vector<std::string> log;
};

TrainedRun train(const TrainRequest& r) {
  TrainedRun run;
  TrainCallbacks callbacks;
  callbacks.on_preview = [&](const TrainPreview& p) { run.previews.push_back(p); };
  callbacks.log = [&](LogLevel, const std::string& line) { run.log.push_back(line); };
  run.result = train_dreambooth(r, callbacks);
  return run;
}

// The first preview prompt drawn by `model` as `pawtrait-cli generate` draws it: its own
// steps and guidance, the previews' seed.
std::vector<std::uint8_t> generate(const fs::path& model, const std::string& prompt, const std::string& lora) {
  families::Flux2KleinModel diffusion(families::load_flux2_klein(model, {}));
  pipeline::TextToImage sampler(diffusion);
  pipeline::GenerateRequest g;
  g.prompt = prompt;
  g.sampler = diffusion.defaults().sampler;
  g.steps = diffusion.defaults().steps;
  g.guidance = diffusion.defaults().guidance;
  g.width = g.height = 64;
  g.seed = 42;
  if (!lora.empty()) g.loras.push_back({lora, 1.0});
  return sampler.generate(g).at(0).rgb;
}

int max_difference(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  int most = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) most = std::max(most, std::abs(int(a[i]) - int(b[i])));
  return most;
}

class KleinPreviews : public testing::TempDirTest {};

TEST_F(KleinPreviews, DrawnByTheDistilledModelBesideTheBaseWithTheRunsLora) {
  const TrainRequest r = tiny_request(path("run"));
  const TrainedRun run = train(r);
  ASSERT_EQ(run.previews.size(), 1u);
  EXPECT_TRUE(std::any_of(run.log.begin(), run.log.end(), [](const std::string& line) {
    return line.find("previews: drawn with the distilled model klein-tiny") != std::string::npos;
  }));
  const std::string prompt = preview_prompts(r).at(0);
  const auto with_lora = generate(klein() / "klein-tiny", prompt, run.result.lora_peft.string());
  const auto without = generate(klein() / "klein-tiny", prompt, "");
  const auto& preview = run.previews[0].images.at(0).rgb;
  ASSERT_EQ(preview.size(), with_lora.size());
  std::cout << "[ measured ] preview vs the distilled model with the exported LoRA: max |diff| "
            << max_difference(preview, with_lora)
            << " of 255; vs without the LoRA: " << max_difference(preview, without) << "\n";
  // The preview runs the adapters unmerged (as diffusers applies a LoRA), generate merges them
  // into the weights: float32 rounding apart, one level of 255 at most.
  EXPECT_LE(max_difference(preview, with_lora), 1);
  EXPECT_GE(max_difference(preview, without), 4);  // measured 8
  const auto text = imaging::read_png_text(path("run") / "previews" / "step-000002.png");
  EXPECT_EQ(text.at("model"), "FLUX.2 [klein] distilled");
  EXPECT_EQ(text.at("sampling"), "euler, 4 steps, guidance 1");
}

// FLUX.2 [klein] in buckets: the transformer's position ids follow each bucket's latent grid.
TEST_F(KleinPreviews, PhotosOfTwoShapesTrainInTheirBuckets) {
  TrainRequest r = tiny_request(path("run"));
  r.photos = testing_support::wide_and_tall_photos(path("photos"));
  r.preview_every = 0;
  r.validate_every = 1;
  const TrainedRun run = train(r);
  EXPECT_NE(std::find(run.log.begin(), run.log.end(), "aspect-ratio buckets: 80×48 (1 photo), 48×80 (1 photo)"),
            run.log.end());
  EXPECT_TRUE(std::isfinite(run.result.final_smoothed_loss));
}

// The masked loss on klein's packed latent grid (16 pixels a cell), from the subject boxes.
TEST_F(KleinPreviews, AMaskedLossTrainsOnThePackedGrid) {
  TrainRequest r = tiny_request(path("run"));
  r.photos = testing_support::wide_and_tall_photos(path("photos"));
  r.preview_every = 0;
  r.masked_loss = true;
  const TrainedRun run = train(r);
  EXPECT_TRUE(std::isfinite(run.result.final_smoothed_loss));
}

TEST_F(KleinPreviews, ACaptionedPhotoTrainsWithItsOwnPrompt) {
  const auto photos = testing_support::wide_and_tall_photos(path("photos"));
  imaging::write_caption_sidecar(photos[0], "asleep on a sofa");
  TrainRequest r = tiny_request(path("run"));
  r.photos = {path("photos")};
  r.preview_every = 0;
  r.validate_every = 1;
  const TrainedRun run = train(r);
  EXPECT_NE(std::find_if(run.log.begin(), run.log.end(),
                         [](const std::string& line) { return line.find("asleep on a sofa") != std::string::npos; }),
            run.log.end());
  EXPECT_TRUE(std::isfinite(run.result.final_smoothed_loss));
}

TEST_F(KleinPreviews, NoneDrawsThemWithTheBaseModel) {
  TrainRequest r = tiny_request(path("run"));
  r.preview_model = "none";
  r.preview_steps = 3;
  train(r);
  const auto text = imaging::read_png_text(path("run") / "previews" / "step-000002.png");
  EXPECT_EQ(text.at("model"), "FLUX.2 [klein] base");
  EXPECT_EQ(text.at("sampling"), "euler, 3 steps, guidance 4");
}

TEST_F(KleinPreviews, AFolderThatCannotServeIsRefusedBeforeTraining) {
  TrainRequest r = tiny_request(path("run"));
  r.preview_model = (testing::testdata() / "sdxl" / "sdxl-tiny").string();
  try {
    train(r);
    FAIL() << "a Stable Diffusion XL folder was taken as the preview model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot draw this run's previews"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("run") / "loss.csv"));
}

}  // namespace
}  // namespace pawtrait::training
