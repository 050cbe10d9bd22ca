// The engine facade: what the app and the CLI both call. Its pictures are the pipeline's own,
// byte for byte; it keeps the model loaded between jobs; a cancelled token stops a job
// before it starts; requests are checked before any work.
#include <ATen/ATen.h>

#include <iostream>

#include "common/error.h"
#include "engine/engine.h"
#include "families/builtin/pixel_model.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "families/stable_diffusion/stable_diffusion_model.h"
#include "imaging/png_text.h"
#include "models/clip_tokenizer.h"
#include "pipeline/picture_files.h"
#include "pipeline/text_to_image.h"
#include "test_support.h"

namespace pawtrait::engine {
namespace {

namespace fs = std::filesystem;

std::string tiny() { return (testing::testdata() / "sd-tiny").string(); }

class EngineTest : public testing::TempDirTest {
 protected:
  GenerateJob tiny_job(const std::string& out) const {
    GenerateJob job;
    job.request.model = tiny();
    job.request.prompt = "a photo of sks dog";
    job.request.sampler = "ddim";
    job.request.steps = 4;
    job.request.seed = 42;
    job.request.count = 2;
    job.out_dir = path(out);
    return job;
  }

  // A small built-in model's training job: a few steps at 32×32 on the demo cat.
  TrainJob small_builtin_job() const {
    TrainJob job;
    job.pixel.photos = {testing::testdata() / "photos"};
    job.pixel.run_dir = path("builtin");
    job.pixel.model.resolution = 32;
    job.pixel.model.block_out_channels = {16, 32};
    job.pixel.model.norm_num_groups = 8;
    job.pixel.steps = 3;
    job.pixel.batch_size = 2;
    job.pixel.preview_every = 0;
    return job;
  }

  fs::path builtin_run() const {
    const TrainJob job = small_builtin_job();
    Engine engine;
    CancelToken token;
    const TrainOutcome outcome = engine.train(job, {}, token);
    EXPECT_EQ(outcome.steps_done, 3);
    return path("builtin");
  }
};

TEST_F(EngineTest, PicturesAreThePipelinesByteForByte) {
  Engine engine;
  CancelToken token;
  pipeline::GenerateRequest ran;
  GenerateEvents events;
  events.on_start = [&](const pipeline::GenerateRequest& r) { ran = r; };
  const GenerateResult result = engine.generate(tiny_job("engine"), events, token);
  ASSERT_EQ(result.files.size(), 2u);
  EXPECT_FALSE(result.stopped);
  // "auto" and 0 were filled in from the model and the machine before anything ran.
  EXPECT_EQ(ran.width, 64);
  EXPECT_EQ(ran.height, 64);
  EXPECT_EQ(ran.device, "cpu");
  EXPECT_EQ(ran.dtype, "fp32");

  // The same request through the pipeline directly, as the CLI and the app did before.
  at::NoGradGuard no_grad;
  models::StableDiffusion model = models::load_stable_diffusion(tiny());
  families::StableDiffusionModel diffusion(model, models::ClipTokenizer::load(*model.tokenizer_dir));
  pipeline::TextToImage t2i(diffusion);
  int index = 0;
  std::vector<fs::path> direct;
  pipeline::GenerateCallbacks callbacks;
  callbacks.on_image = [&](const pipeline::GeneratedImage& image) {
    direct.push_back(
        pipeline::write_picture(path("direct"), index, image.rgb, image.width, image.height, image.request));
  };
  fs::create_directories(path("direct"));
  t2i.generate(ran, callbacks);
  ASSERT_EQ(direct.size(), 2u);
  for (std::size_t i = 0; i < direct.size(); ++i) {
    EXPECT_EQ(result.files[i].filename(), direct[i].filename());
    EXPECT_EQ(read_bytes(result.files[i]), read_bytes(direct[i])) << result.files[i];
  }
}

TEST_F(EngineTest, TheBuiltinModelsPicturesAreItsSamplersByteForByte) {
  const fs::path run = builtin_run();
  Engine engine;
  CancelToken token;
  GenerateJob job;
  job.request.model = "builtin:" + run.string();
  job.request.seed = 7;
  job.request.steps = 5;
  job.out_dir = path("pictures");
  pipeline::GenerateRequest ran;
  GenerateEvents events;
  events.on_start = [&](const pipeline::GenerateRequest& r) { ran = r; };
  const GenerateResult result = engine.generate(job, events, token);
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(ran.sampler, "ddpm");  // the built-in model's own default
  EXPECT_EQ(ran.width, 32);

  training::PixelModel model = training::load_pixel_model(run);
  const auto rgb = training::sample_pixel_model(model, "ddpm", 5, 7, 1);
  int index = 0;
  pipeline::GenerateRequest one = ran;
  one.count = 1;
  fs::create_directories(path("direct"));
  const fs::path direct = pipeline::write_picture(path("direct"), index, rgb[0], 32, 32, one);
  EXPECT_EQ(read_bytes(result.files[0]), read_bytes(direct));
}

TEST_F(EngineTest, ASecondJobKeepsTheModelLoaded) {
  Engine engine;
  CancelToken token;
  int loads = 0;
  GenerateEvents events;
  events.log = [&](LogLevel, const std::string& line) {
    if (line.rfind("generating on", 0) == 0) ++loads;
  };
  engine.generate(tiny_job("a"), events, token);
  engine.generate(tiny_job("b"), events, token);
  EXPECT_EQ(loads, 1);
  GenerateJob other = tiny_job("c");
  other.request.dtype = "bf16";  // other weights: loaded again
  engine.generate(other, events, token);
  EXPECT_EQ(loads, 2);
}

TEST_F(EngineTest, AStopBeforeTheJobStartsStopsIt) {
  Engine engine;
  CancelToken token;
  token.cancel = true;
  const GenerateResult generated = engine.generate(tiny_job("stopped"), {}, token);
  EXPECT_TRUE(generated.stopped);
  EXPECT_TRUE(generated.files.empty());

  TrainJob job;
  job.pixel.photos = {testing::testdata() / "photos"};
  job.pixel.run_dir = path("never");
  const TrainOutcome trained = engine.train(job, {}, token);
  EXPECT_TRUE(trained.stopped);
  EXPECT_EQ(trained.steps_done, 0);
  EXPECT_FALSE(fs::exists(path("never")));
}

TEST_F(EngineTest, RequestsAreCheckedBeforeAnyWork) {
  Engine engine;
  CancelToken token;
  GenerateJob job = tiny_job("bad");
  job.request.count = 0;
  EXPECT_THROW_MESSAGE(engine.generate(job, {}, token), "number of images must be between 1");
  job = tiny_job("bad");
  job.request.dtype = "fp16";
  job.request.device = "cpu";
  EXPECT_THROW_MESSAGE(engine.generate(job, {}, token), "fp16 needs a CUDA GPU");
  job = tiny_job("bad");
  job.request.device = "tpu";
  EXPECT_THROW_MESSAGE(engine.generate(job, {}, token), "unknown device \"tpu\"");
  job = tiny_job("bad");
  job.request.model = "builtin";
  EXPECT_THROW_MESSAGE(engine.generate(job, {}, token), "builtin:RUN_DIR");
  EXPECT_FALSE(fs::exists(path("bad")));
}

TEST_F(EngineTest, ResumingNamesEachSettingThatDiffers) {
  const fs::path run = builtin_run();
  TrainJob given = small_builtin_job();
  given.pixel.steps = 5;
  // The same settings (the photos spelled another way): the run continues, to 5 steps.
  given.pixel.photos = {testing::testdata() / "photos" / ".." / "photos"};
  const TrainJob resumed = Engine::resume_job(run, 5, &given);
  EXPECT_TRUE(resumed.builtin);
  EXPECT_EQ(resumed.pixel.steps, 5);
  EXPECT_TRUE(resumed.pixel.resume);

  given.pixel.learning_rate = 0.01;
  given.pixel.model.norm_num_groups = 4;
  EXPECT_THROW_MESSAGE(Engine::resume_job(run, 5, &given), "learning_rate: the run has 0.001, this command says 0.01",
                       "model.norm_num_groups: the run has 8, this command says 4", "only the step count may change");
  given.builtin = false;
  EXPECT_THROW_MESSAGE(Engine::resume_job(run, 5, &given),
                       "trained the built-in model, not a diffusion model with DreamBooth");
}

}  // namespace
}  // namespace pawtrait::engine
