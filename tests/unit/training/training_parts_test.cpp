// The trainer's small parts: the learning-rate schedule, the float16 loss scaler, the
// training loop's step on a toy task, and the request's JSON form and checks.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "fixed_batch_task.h"
#include "test_support.h"
#include "training/loss_scaler.h"
#include "training/lr_schedule.h"
#include "training/train_checkpoint.h"
#include "training/train_request.h"

namespace pawtrait::training {
namespace {

TEST(LearningRate, WarmsUpLinearlyThenHoldsOrFollowsACosine) {
  // Step k uses k - 1 finished steps, as diffusers' LambdaLR does: the first step is at 0.
  EXPECT_DOUBLE_EQ(learning_rate_at(1, 1e-4, "constant", 10, 100), 0.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(6, 1e-4, "constant", 10, 100), 0.5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(11, 1e-4, "constant", 10, 100), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(100, 1e-4, "constant", 10, 100), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(1, 1e-4, "constant", 0, 100), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(11, 1e-4, "cosine", 10, 110), 1e-4);
  EXPECT_NEAR(learning_rate_at(61, 1e-4, "cosine", 10, 110), 0.5e-4, 1e-12);  // half way
  EXPECT_NEAR(learning_rate_at(111, 1e-4, "cosine", 10, 110), 0.0, 1e-12);
}

// One parameter w, loss (w − target)²: the loop's step averages the micro-batches, takes
// AdamW's first step (|Δw| = lr) and stops on a loss that is not finite, saying so.
TEST(TrainingLoopStep, AccumulatesStepsAveragesAndStopsOnNaN) {
  at::Tensor w = at::zeros({1}).set_requires_grad(true);
  std::vector<double> targets = {1.0, 3.0};
  std::size_t draw = 0;
  testing_support::FixedBatchTask task({{"w", w}}, [&] { return (w - targets[draw++ % 2]).pow(2).sum(); });
  LoopSettings settings;
  settings.steps = 3;
  settings.learning_rate = 0.1;
  settings.grad_accum = 2;
  settings.ema_decay = 0.5;
  TrainingLoop loop(task, settings);
  const StepOutcome first = loop.step(1);
  EXPECT_DOUBLE_EQ(first.loss, (1.0 + 9.0) / 2);
  EXPECT_DOUBLE_EQ(first.lr, 0.1);
  EXPECT_TRUE(first.applied);
  EXPECT_NEAR(w.item<double>(), 0.1, 1e-6);  // Adam's first step moves by lr, towards the targets
  EXPECT_NEAR(w.grad().item<double>(), (2 * (0 - 1.0) + 2 * (0 - 3.0)) / 2, 1e-6);

  targets = {std::nan(""), 0.0};
  EXPECT_THROW_MESSAGE(loop.step(2), "the loss became nan at step 2", "No checkpoint was written yet");
}

// w chases a target drawn from the run's generator each step, so that a resumed run matches
// an uninterrupted one only if the generator is restored exactly. fail_at makes that step's
// loss throw, as a CUDA out-of-memory would; preview_fails makes every preview throw.
class RandomTargetTask : public TrainingTask {
 public:
  at::Tensor w = at::zeros({2}).set_requires_grad(true);
  std::int64_t fail_at = 0, calls = 0;
  bool preview_fails = false;
  NamedParameters trainable() override { return {{"w", w}}; }
  at::Tensor loss(at::Generator& gen) override {
    if (++calls == fail_at) throw std::runtime_error("CUDA out of memory (simulated)");
    return (w - at::randn({2}, gen)).pow(2).sum();
  }
  double validation_loss() override {
    if (preview_fails) throw std::runtime_error("validation broke (simulated)");
    return 0;
  }
  std::optional<TrainPreview> preview(std::int64_t, const std::atomic<bool>*) override {
    if (preview_fails) throw std::runtime_error("preview broke (simulated)");
    return std::nullopt;
  }
  void export_result(std::int64_t) override {}
  void set_training(bool) override {}
  std::string nan_advice() const override { return ""; }
};

class TrainingLoopRun : public testing::TempDirTest {
 protected:
  LoopSettings settings(const std::string& run) const {
    LoopSettings s;
    s.run_dir = path(run);
    s.seed = 5;
    s.steps = 5;
    s.learning_rate = 0.1;
    return s;
  }
};

TEST_F(TrainingLoopRun, AFailedStepSavesTheStepsBeforeItAndResumeContinuesExactly) {
  RandomTargetTask whole;
  TrainingLoop(whole, settings("whole")).run();

  RandomTargetTask broken;
  broken.fail_at = 3;
  EXPECT_THROW_MESSAGE(TrainingLoop(broken, settings("split")).run(), "training failed at step 3: CUDA out of memory",
                       "Steps 1 to 2 are saved", "continue with --resume");
  ASSERT_TRUE(latest_checkpoint(path("split")));
  EXPECT_EQ(latest_checkpoint(path("split"))->filename(), "step-000002.safetensors");

  RandomTargetTask resumed;
  LoopSettings again = settings("split");
  again.resume = true;
  const LoopResult result = TrainingLoop(resumed, again).run();
  EXPECT_EQ(result.steps_done, 5);
  EXPECT_TRUE(at::equal(resumed.w, whole.w)) << resumed.w << " vs " << whole.w;
}

TEST_F(TrainingLoopRun, AFailedPreviewOrValidationIsSkippedWithAWarning) {
  RandomTargetTask task;
  task.preview_fails = true;
  LoopSettings s = settings("run");
  s.preview_every = 2;
  s.validate_every = 2;
  std::vector<std::string> warnings;
  TrainCallbacks callbacks;
  callbacks.log = [&](LogLevel level, const std::string& line) {
    if (level == LogLevel::Warning) warnings.push_back(line);
  };
  const LoopResult result = TrainingLoop(task, s, callbacks).run();
  EXPECT_EQ(result.steps_done, 5);
  ASSERT_EQ(warnings.size(), 6u);  // steps 2, 4 and the last: a validation and a preview each
  EXPECT_NE(warnings[0].find("validation at step 2 failed and is skipped: validation broke"), std::string::npos);
  EXPECT_NE(warnings[1].find("preview at step 2 failed and is skipped: preview broke"), std::string::npos);
}

TEST(LossScaler, SkipsOverflowedStepsAndGrowsAfterGoodOnes) {
  DynamicLossScaler scaler(1024.0, /*growth_interval=*/3);
  at::Tensor p = at::zeros({3}).requires_grad_(true);
  scaler.scale((p * 2).sum()).backward();
  EXPECT_TRUE(scaler.unscale({p}));
  EXPECT_TRUE(at::allclose(p.grad(), at::full({3}, 2.0)));  // the scale divided back out
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.current_scale(), 1024.0);
  scaler.update(true);
  EXPECT_EQ(scaler.current_scale(), 2048.0);

  p.mutable_grad() = at::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update(false);
  EXPECT_EQ(scaler.current_scale(), 1024.0);
  EXPECT_EQ(scaler.good_steps(), 0);
}

TEST(TrainRequestJson, RoundTripsAndNamesBadKeys) {
  TrainRequest r;
  r.photos = {"a.jpg", "photos"};
  r.model = "models/sd15";
  r.token = "zwx";
  r.class_name = "cat";
  r.mode = "full";
  r.rank = 8;
  r.prior_count = 50;
  r.lr_schedule = "cosine";
  r.gradient_checkpointing = true;
  r.seed = 1234;
  r.edits["a.jpg"].box = imaging::CropBox{10, 20, 300, 200};
  r.edits["b.jpg"].quarter_turns = 3;
  r.captions["a.jpg"] = "lying on the grass";
  const TrainRequest back = TrainRequest::from_json(r.to_json(), "config.json");
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.instance_prompt(), "a photo of zwx cat");
  EXPECT_EQ(back.class_prompt(), "a photo of a cat");
  EXPECT_DOUBLE_EQ(back.effective_learning_rate(), 5e-6);
  EXPECT_EQ(back.edits, r.edits);
  EXPECT_EQ(back.captions, r.captions);
  EXPECT_EQ(back.instance_prompt("a.jpg"), "a photo of zwx cat, lying on the grass");
  EXPECT_EQ(back.instance_prompt("b.jpg"), "a photo of zwx cat");
  EXPECT_EQ(back.crop, "buckets");
  // A config.json from before boxes had their own shape, and before buckets: [x, y, size] is a
  // square, and the run resumes on squares.
  nlohmann::json older = r.to_json();
  older.erase("crop");
  older["crops"] = {{"a.jpg", {10, 20, 300}}};
  const TrainRequest old_run = TrainRequest::from_json(older, "config.json");
  EXPECT_EQ(old_run.crop, "square");
  EXPECT_EQ(old_run.edits.at("a.jpg").box, (imaging::CropBox{10, 20, 300, 300}));
  for (const nlohmann::json& wrong : {nlohmann::json{{"a.jpg", {10, 20}}}, nlohmann::json{{"a.jpg", {0, 0, 0, 5}}}}) {
    nlohmann::json config = r.to_json();
    config["crops"] = wrong;
    EXPECT_THROW_MESSAGE(TrainRequest::from_json(config, "config.json"), "config.json", "the crop of a.jpg");
  }
  nlohmann::json turned_too_far = r.to_json();
  turned_too_far["turns"] = {{"b.jpg", 4}};
  EXPECT_THROW_MESSAGE(TrainRequest::from_json(turned_too_far, "config.json"), "the turns of b.jpg", "0, 1, 2 or 3");

  nlohmann::json bad = r.to_json();
  bad["rank"] = "sixteen";
  try {
    TrainRequest::from_json(bad, "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank"), std::string::npos) << e.what();
  }
}

TEST(TrainRequestJson, UnsetCheckpointingStaysTheFamilysChoice) {
  // Unset is written as null and read back unset; a run saved before (true/false) keeps its value.
  const TrainRequest fresh;
  EXPECT_TRUE(fresh.to_json().at("gradient_checkpointing").is_null());
  EXPECT_FALSE(TrainRequest::from_json(fresh.to_json(), "config.json").gradient_checkpointing.has_value());
  nlohmann::json older = fresh.to_json();
  older["gradient_checkpointing"] = false;
  EXPECT_EQ(TrainRequest::from_json(older, "config.json").gradient_checkpointing, std::optional<bool>(false));
  older.erase("gradient_checkpointing");
  EXPECT_FALSE(TrainRequest::from_json(older, "config.json").gradient_checkpointing.has_value());
  EXPECT_EQ(TrainRequest::from_json(fresh.to_json(), "config.json").preview_model, "auto");
}

TEST(TrainRequestChecks, RefuseSettingsThatCannotWork) {
  TrainRequest r;
  EXPECT_NO_THROW(r.validate());
  EXPECT_DOUBLE_EQ(r.effective_learning_rate(), 1e-4);
  auto refused = [](TrainRequest bad, const std::string& word) {
    try {
      bad.validate();
      return std::string("accepted");
    } catch (const Error& e) {
      return std::string(e.what()).find(word) != std::string::npos ? std::string("ok") : std::string(e.what());
    }
  };
  TrainRequest t = r;
  t.mode = "dora";
  EXPECT_EQ(refused(t, "mode"), "ok");
  t = r;
  t.resolution = 500;
  EXPECT_EQ(refused(t, "multiple of 8"), "ok");
  t = r;
  t.mixed_precision = "fp8";
  EXPECT_EQ(refused(t, "mixed precision"), "ok");
  t = r;
  t.grad_accum = 0;
  EXPECT_EQ(refused(t, "accumulation"), "ok");
  // A hostile or mistyped config.json cannot ask for days of work or terabytes.
  t = r;
  t.steps = 5'000'000;
  EXPECT_EQ(refused(t, "between 1 and 1000000"), "ok");
  t = r;
  t.resolution = 65536;
  EXPECT_EQ(refused(t, "up to 4096"), "ok");
  t = r;
  t.batch_size = 1000;
  EXPECT_EQ(refused(t, "between 1 and 64"), "ok");
  t = r;
  t.rank = 100000;
  EXPECT_EQ(refused(t, "between 1 and 1024"), "ok");
}

}  // namespace
}  // namespace pawtrait::training
