// FLUX.2 [klein]'s sampling schedule against the reference (testdata/klein/reference/schedulers.*):
// μ from the token and step counts, the shifted σ and the timesteps in the reference's own
// float32 arithmetic (exact), and two Euler trajectories of FlowMatchEulerDiscreteScheduler.step.
#include <ATen/ATen.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "schedulers/flow_match_config.h"
#include "schedulers/flow_match_euler_scheduler.h"
#include "schedulers/flow_match_sigmas.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::schedulers {
namespace {

const std::filesystem::path kReference = testing::testdata() / "klein" / "reference";

nlohmann::json reference_json() { return nlohmann::json::parse(std::ifstream(kReference / "schedulers.json")); }

const tensors::SafetensorsFile& reference_tensors() {
  static const tensors::SafetensorsFile file = tensors::SafetensorsFile::open(kReference / "schedulers.safetensors");
  return file;
}

// The klein models' scheduler config: μ decides the shift.
FlowShift klein_shift() { return {.use_dynamic_shifting = true, .shift = 3.0}; }

TEST(FlowMatchSchedule, EveryReferenceTableExactly) {
  const nlohmann::json tables = reference_json()["tables"];
  ASSERT_EQ(tables.size(), 135u);  // 15 token counts × 9 step counts
  for (const auto& table : tables) {
    const std::int64_t length = table["image_seq_len"], steps = table["steps"];
    const std::string name = "L" + std::to_string(length) + "_N" + std::to_string(steps);
    const double mu = compute_empirical_mu(length, steps);
    // The same double operations in the same order as the reference's Python.
    EXPECT_EQ(mu, table["mu"].get<double>()) << name;
    const FlowSchedule s = flow_match_schedule(steps, mu, klein_shift());
    EXPECT_TRUE(at::equal(s.sigmas, reference_tensors().tensor(name + "/sigmas"))) << name;
    EXPECT_TRUE(at::equal(s.timesteps, reference_tensors().tensor(name + "/timesteps"))) << name;
  }
}

TEST(FlowMatchSchedule, MuSwitchesToTheLargeImageLineAbove4300Tokens) {
  // At 4300 tokens the step count still moves μ; from 4301 on it does not.
  EXPECT_NE(compute_empirical_mu(4300, 4), compute_empirical_mu(4300, 50));
  EXPECT_EQ(compute_empirical_mu(4301, 4), compute_empirical_mu(4301, 50));
}

TEST(FlowMatchSchedule, AFixedShiftAndBadRequests) {
  // Without dynamic shifting the fixed shift applies: σ' = 3σ / (1 + 2σ); σ = 1 stays 1.
  const FlowSchedule s = flow_match_schedule(2, std::nullopt, {.use_dynamic_shifting = false, .shift = 3.0});
  EXPECT_FLOAT_EQ(s.sigmas[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(s.sigmas[1].item<float>(), 1.5f / 2.0f);
  EXPECT_EQ(s.sigmas[2].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(s.timesteps[1].item<float>(), 750.0f);
  EXPECT_THROW_MESSAGE(flow_match_schedule(0, 1.0, klein_shift()), "at least 1 step");
  EXPECT_THROW_MESSAGE(flow_match_schedule(4, std::nullopt, klein_shift()), "μ is needed");
  FlowShift odd = klein_shift();
  odd.time_shift_type = "cubic";
  EXPECT_THROW_MESSAGE(flow_match_schedule(4, 1.0, odd), "unknown time_shift_type \"cubic\"");
}

TEST(FlowMatchSchedule, EulerTrajectoriesAsTheReferenceSteps) {
  for (const auto& [name, trajectory] : reference_json()["trajectories"].items()) {
    const std::int64_t steps = trajectory["steps"], length = trajectory["image_seq_len"];
    const double mu = compute_empirical_mu(length, steps);
    EXPECT_EQ(mu, trajectory["mu"].get<double>()) << name;
    const FlowSchedule s = flow_match_schedule(steps, mu, klein_shift());
    const at::Tensor velocities = reference_tensors().tensor(name + "/model_out");
    const at::Tensor expected = reference_tensors().tensor(name + "/x_steps");
    at::Tensor x = reference_tensors().tensor(name + "/x_init").unsqueeze(0);
    for (std::int64_t i = 0; i < steps; ++i) {
      x = flow_euler_step(velocities[i], x, s.sigmas[i], s.sigmas[i + 1]);
      EXPECT_TRUE(at::equal(x, expected[i])) << name << " step " << i;
    }
  }
}

// The same trajectories through the sampler interface the pipeline uses: its timesteps, and
// step() given them in order; add_noise at a timestep is σ ε + (1 − σ) x_0.
TEST(FlowMatchEulerScheduler, StepsAsTheReference) {
  for (const auto& [name, trajectory] : reference_json()["trajectories"].items()) {
    const std::int64_t steps = trajectory["steps"], length = trajectory["image_seq_len"];
    FlowMatchEulerScheduler sampler(
        klein_shift(), [length](std::int64_t n) -> std::optional<double> { return compute_empirical_mu(length, n); });
    sampler.set_timesteps(steps);
    EXPECT_TRUE(at::equal(sampler.timesteps(), at::tensor(trajectory["timesteps"].get<std::vector<float>>())));
    EXPECT_EQ(sampler.init_noise_sigma(), 1.0);
    const at::Tensor velocities = reference_tensors().tensor(name + "/model_out");
    const at::Tensor expected = reference_tensors().tensor(name + "/x_steps");
    at::Tensor x = reference_tensors().tensor(name + "/x_init").unsqueeze(0);
    for (std::int64_t i = 0; i < steps; ++i) {
      const double t = sampler.timesteps()[i].item<double>();
      x = sampler.step(velocities[i], t, sampler.scale_model_input(x, t), nullptr).prev_sample;
    }
    EXPECT_TRUE(at::equal(x, expected[steps - 1])) << name;
    EXPECT_THROW_MESSAGE(sampler.step(velocities[0], 0.0, x, nullptr), "past its last");
  }
  FlowMatchEulerScheduler sampler({}, {});
  sampler.set_timesteps(4);  // σ = 1, ¾, ½, ¼
  const at::Tensor x0 = at::ones({2, 3}), noise = at::zeros({2, 3});
  const at::Tensor noised = sampler.add_noise(x0, noise, at::tensor({750.0f, 250.0f}));
  EXPECT_TRUE(at::allclose(noised, at::tensor({0.25f, 0.75f}).view({2, 1}).expand({2, 3})));
  EXPECT_THROW_MESSAGE(sampler.add_noise(x0, noise, at::tensor({600.0f, 250.0f})), "not one of this run's");
}

// The tiny klein models' scheduler config (diffusers' FLUX config): μ sets the shift.
TEST(FlowShiftConfig, ReadsKleinsSchedulerConfig) {
  const auto file = testing::testdata() / "klein" / "klein-tiny" / "scheduler" / "scheduler_config.json";
  const nlohmann::json config = nlohmann::json::parse(std::ifstream(file));
  const FlowShift s = flow_shift_from_config(config, file.string());
  EXPECT_TRUE(s.use_dynamic_shifting);
  EXPECT_EQ(s.shift, 3.0);
  EXPECT_EQ(s.time_shift_type, "exponential");
  EXPECT_EQ(s.num_train_timesteps, 1000);
  // What it says reaches the schedule: the reference tables were made with this config.
  EXPECT_TRUE(at::equal(flow_match_schedule(4, compute_empirical_mu(1024, 4), s).sigmas,
                        reference_tensors().tensor("L1024_N4/sigmas")));
}

TEST(FlowShiftConfig, RefusesWhatItCannotSampleAndWrongValues) {
  auto with = [](const char* key, nlohmann::json value) {
    nlohmann::json c = {{"shift", 3.0}, {"use_dynamic_shifting", false}};
    c[key] = std::move(value);
    return c;
  };
  EXPECT_THROW_MESSAGE(flow_shift_from_config(with("use_karras_sigmas", true), "cfg"),
                       "cfg: \"use_karras_sigmas\" is true; Pawtrait does not implement it");
  EXPECT_THROW_MESSAGE(flow_shift_from_config(with("shift_terminal", 0.1), "cfg"), "\"shift_terminal\" is 0.1");
  EXPECT_THROW_MESSAGE(flow_shift_from_config(with("shift", 0), "cfg"), "\"shift\" must be a number above 0");
  EXPECT_THROW_MESSAGE(flow_shift_from_config(with("use_dynamic_shifting", "yes"), "cfg"), "must be true or false");
  EXPECT_THROW_MESSAGE(flow_shift_from_config(with("time_shift_type", "cubic"), "cfg"),
                       "\"exponential\" or \"linear\"");
  EXPECT_THROW_MESSAGE(flow_shift_from_config(with("num_train_timesteps", 0), "cfg"), "1 or more");
  EXPECT_THROW_MESSAGE(flow_shift_from_config(nlohmann::json::array(), "cfg"), "expected a JSON object");
  // Off switches, FLUX.1's μ keys and unknown keys are read past.
  const FlowShift fixed = flow_shift_from_config(with("stochastic_sampling", false), "cfg");
  EXPECT_FALSE(fixed.use_dynamic_shifting);
  EXPECT_EQ(flow_shift_from_config(with("max_shift", 1.15), "cfg").shift, 3.0);
  EXPECT_EQ(flow_shift_from_config(with("some_future_key", 1), "cfg").shift, 3.0);
}

}  // namespace
}  // namespace pawtrait::schedulers
