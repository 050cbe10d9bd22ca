#include "schedulers/scheduler_config.h"

#include "common/error.h"
#include "common/json_file.h"
#include "schedulers/noise_schedule.h"
#include "schedulers/sampler_registry.h"
#include "test_support.h"

namespace pawtrait::schedulers {
namespace {

TEST(SchedulerConfig, ReadsTheTinyModelsConfig) {
  std::vector<std::string> logged;
  SchedulerConfig c = SchedulerConfig::load(testing::testdata() / "sd-tiny" / "scheduler" / "scheduler_config.json",
                                            [&](LogLevel, const std::string& line) { logged.push_back(line); });
  EXPECT_EQ(c.class_name, "DDIMScheduler");
  EXPECT_EQ(c.num_train_timesteps, 1000);
  EXPECT_DOUBLE_EQ(*c.beta_start, 0.00085);
  EXPECT_EQ(c.beta_schedule, "scaled_linear");
  EXPECT_EQ(c.timestep_spacing, "leading");
  EXPECT_EQ(c.steps_offset, 1);
  EXPECT_EQ(c.set_alpha_to_one, false);
  EXPECT_EQ(c.clip_sample, false);
  EXPECT_FALSE(c.trained_betas.has_value());  // null
  EXPECT_FALSE(c.use_karras_sigmas.has_value());
  EXPECT_TRUE(logged.empty());  // every key in it is known
}

TEST(SchedulerConfig, UnknownKeysAreLoggedAndIgnored) {
  std::vector<std::string> logged;
  auto c = SchedulerConfig::from_json({{"beta_end", 0.02}, {"my_new_option", 3}}, "x.json",
                                      [&](LogLevel level, const std::string& line) {
                                        EXPECT_EQ(level, LogLevel::Debug);
                                        logged.push_back(line);
                                      });
  EXPECT_DOUBLE_EQ(*c.beta_end, 0.02);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("my_new_option"), std::string::npos);
}

TEST(SchedulerConfig, WrongTypesNameTheKey) {
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"num_train_timesteps", "1000"}}, "cfg.json"), "cfg.json",
                       "\"num_train_timesteps\"", "whole number");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"beta_start", true}}, "cfg.json"), "\"beta_start\"", "number");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"clip_sample", 1}}, "cfg.json"), "\"clip_sample\"",
                       "true or false");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"trained_betas", {0.1, "x"}}}, "cfg.json"), "\"trained_betas\"");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json(nlohmann::json::array(), "cfg.json"), "cfg.json", "object");
  // Whole numbers written as floats are fine; out-of-range ones (found by the fuzzer) are not.
  EXPECT_EQ(SchedulerConfig::from_json({{"num_train_timesteps", 1000.0}}).num_train_timesteps, 1000);
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"steps_offset", 1.6e22}}, "cfg.json"), "\"steps_offset\"",
                       "whole number");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"steps_offset", 1.5}}, "cfg.json"), "whole number");
}

TEST(SchedulerConfig, UnsupportedValuesSayWhatIsAllowed) {
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"beta_schedule", "sigmoid"}}, "c"), "\"beta_schedule\"", "sigmoid",
                       "linear, scaled_linear, squaredcos_cap_v2");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"prediction_type", "flow"}}, "c"), "epsilon, v_prediction, sample");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"timestep_spacing", "uniform"}}, "c"),
                       "leading, trailing, linspace");
}

TEST(SchedulerConfig, TrainedBetasMustCoverEveryTimestep) {
  SchedulerConfig c;
  c.num_train_timesteps = 10;
  c.trained_betas = std::vector<double>(9, 0.01);
  EXPECT_THROW_MESSAGE(NoiseSchedule{c}, "trained_betas has 9 values", "num_train_timesteps is 10");
  c.trained_betas = std::vector<double>(10, 0.01);
  NoiseSchedule ok(c);
  EXPECT_NEAR(ok.alphas_cumprod()[9].item<double>(), std::pow(0.99, 10), 1e-6);
}

TEST(SchedulerConfig, AcceptsPythonsNonStandardJson) {
  // What diffusers writes for a DPM-Solver config; "NaN" inside a string stays text.
  const nlohmann::json json = parse_python_json(
      R"({"lambda_min_clipped": -Infinity, "x": NaN, "y": Infinity, "note": "NaN -Infinity", "beta_end": 0.012})",
      "scheduler_config.json");
  EXPECT_TRUE(json.at("lambda_min_clipped").is_null());
  EXPECT_TRUE(json.at("x").is_null());
  EXPECT_EQ(json.at("note"), "NaN -Infinity");
  EXPECT_DOUBLE_EQ(*SchedulerConfig::from_json(json).beta_end, 0.012);
  EXPECT_THROW_MESSAGE(parse_python_json("{\"a\": }", "broken.json"), "broken.json", "not valid JSON");
}

class JsonFiles : public testing::TempDirTest {};

// A "config" of 100 MiB (sparse: no disk used) is refused by its size before it is read.
TEST_F(JsonFiles, AFileLargerThanAnyConfigIsNotRead) {
  const auto file = write_bytes("scheduler_config.json", "{}");
  EXPECT_TRUE(read_json_file(file).empty());
  std::filesystem::resize_file(file, std::uintmax_t{100} << 20);
  EXPECT_THROW_MESSAGE(read_json_file(file), "scheduler_config.json is 100 MiB", "not read");
}

TEST(SchedulerConfig, RefusesMathematicsItDoesNotImplement) {
  // Flow-matching and other sigma grids would give other pictures than the model's own
  // scheduler: refused, naming the file and the key, instead of ignored.
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"use_flow_sigmas", true},
                                                           {"flow_shift", 3.0},
                                                           {"use_dynamic_shifting", true},
                                                           {"use_exponential_sigmas", true},
                                                           {"use_beta_sigmas", true},
                                                           {"use_lu_lambdas", true},
                                                           {"timestep_type", "continuous"},
                                                           {"interpolation_type", "log_linear"},
                                                           {"sigma_min", 0.03},
                                                           {"lambda_min_clipped", -5.1}}) {
    SCOPED_TRACE(key);
    const std::string quoted = "\"" + key + "\"";
    EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{key, value}}, "scheduler_config.json"), "scheduler_config.json",
                         quoted.c_str(), "does not implement");
  }
  // Their defaults, as diffusers writes them into every config, are fine.
  const nlohmann::json defaults = parse_python_json(
      R"({"use_flow_sigmas": false, "flow_shift": 1.0, "use_dynamic_shifting": false, "timestep_type": "discrete",
          "interpolation_type": "linear", "sigma_min": null, "lambda_min_clipped": -Infinity})",
      "scheduler_config.json");
  SchedulerConfig::from_json(defaults, "scheduler_config.json");
  EXPECT_THROW_MESSAGE(SchedulerConfig::from_json({{"prediction_type", "flow"}}, "c"), "prediction_type", "epsilon");
}

TEST(SchedulerConfig, RoundTripsThroughJson) {
  SchedulerConfig c = SchedulerConfig::load(testing::testdata() / "sd-tiny" / "scheduler" / "scheduler_config.json");
  SchedulerConfig again = SchedulerConfig::from_json(c.to_json());
  EXPECT_EQ(again.to_json(), c.to_json());
}

TEST(SchedulerConfig, StepCountsOutsideTheScheduleForDdpmAndDdim) {
  // leading spacing with steps_offset 1 at 1000 steps reaches t = 1000, one past the end.
  SchedulerConfig c = SchedulerConfig::load(testing::testdata() / "sd-tiny" / "scheduler" / "scheduler_config.json");
  EXPECT_THROW_MESSAGE(make_sampler("ddim", c)->set_timesteps(1000), "timestep 1000", "at most 999");
  make_sampler("ddim", c)->set_timesteps(999);
}

}  // namespace
}  // namespace pawtrait::schedulers
