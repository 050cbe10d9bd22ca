// Timesteps, sigmas and whole trajectories against the reference numbers in
// ../shared/testdata/reference/schedulers.* (diffusers 0.25.1; DPM-Solver++ also as 0.26.3,
// the behaviour of every later release).
#include <ATen/ATen.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/json_file.h"
#include "sampler_test_support.h"
#include "schedulers/ddim_scheduler.h"
#include "schedulers/ddpm_scheduler.h"
#include "schedulers/dpm_solver_multistep_scheduler.h"
#include "schedulers/euler_ancestral_scheduler.h"
#include "schedulers/euler_scheduler.h"

namespace pawtrait::schedulers {
namespace {

using schedulers::testing::relative_error;
using schedulers::testing::shared_scheduler_reference;

const nlohmann::json& reference_json() {
  // Written by Python's json module: "lambda_min_clipped": -Infinity.
  static const nlohmann::json json = read_json_file(testing::testdata() / "reference" / "schedulers.json");
  return json;
}

std::unique_ptr<DiscreteScheduler> build(const std::string& name) {
  const nlohmann::json& entry = reference_json().at("schedulers").at(name);
  const std::string cls = entry.at("class").get<std::string>();
  const SchedulerConfig config = SchedulerConfig::from_json(entry.at("full_config"), name);
  if (cls == "DDPMScheduler") return std::make_unique<DDPMScheduler>(config);
  if (cls == "DDIMScheduler") {
    return std::make_unique<DDIMScheduler>(config, entry.at("step_kwargs").value("eta", 0.0));
  }
  if (cls == "EulerDiscreteScheduler") return std::make_unique<EulerScheduler>(config);
  if (cls == "EulerAncestralDiscreteScheduler") return std::make_unique<EulerAncestralScheduler>(config);
  return std::make_unique<DPMSolverMultistepScheduler>(config);
}

at::Tensor reference(const std::string& key) { return shared_scheduler_reference().tensor(key); }

class SharedReference : public ::testing::TestWithParam<std::string> {};

// Betas and ᾱ of each reference config.
TEST_P(SharedReference, BetasAndAlphasCumprod) {
  const std::string name = GetParam();
  auto s = build(name);
  EXPECT_LT(relative_error(s->schedule().betas(), reference(name + "/betas")), 1e-7);
  EXPECT_LT(relative_error(s->schedule().alphas_cumprod(), reference(name + "/alphas_cumprod")), 1e-7);
}

// Every step count the reference ran: timesteps exactly, sigmas, and the trajectory x after
// every step, with the sampler drawing its own noise from a generator seeded 4321.
TEST_P(SharedReference, Trajectories) {
  const std::string name = GetParam();
  // diffusers 0.25.1's DPM-Solver++ ended at σ_min with a second-order step; 0.26 and every
  // later release end at σ = 0 with a first-order one, which is what Pawtrait does. The
  // 0.25.1 runs still agree on every step before the last.
  const bool old_dpm = name.starts_with("dpmpp2m") && !name.ends_with("_diffusers0263");
  double worst = 0;
  for (int steps : {1, 10, 25, 50}) {
    SCOPED_TRACE(name + " N" + std::to_string(steps));
    const std::string prefix = name + "/N" + std::to_string(steps);
    auto s = build(name);
    GeneratorNoise noise(4321);
    auto run = schedulers::testing::run_fake_model(*s, steps, reference("x_base"), &noise);
    const at::Tensor expected_t = reference(prefix + "/timesteps");
    ASSERT_EQ(run.timesteps.size(), static_cast<std::size_t>(expected_t.numel()));
    EXPECT_TRUE(at::equal(s->timesteps().to(at::kDouble), expected_t.to(at::kDouble)))
        << s->timesteps() << " vs " << expected_t;
    if (shared_scheduler_reference().contains(prefix + "/sigmas") && !old_dpm) {
      at::Tensor sigmas;
      if (auto* sigma_sampler = dynamic_cast<SigmaScheduler*>(s.get())) {
        sigmas = at::tensor(sigma_sampler->sigmas(), at::kFloat);
      } else {
        sigmas = at::tensor(dynamic_cast<DPMSolverMultistepScheduler&>(*s).sigmas(), at::kFloat);
      }
      EXPECT_LT(relative_error(sigmas, reference(prefix + "/sigmas")), 1e-6);
    }
    const at::Tensor x_steps = reference(prefix + "/x_steps");
    const std::int64_t compared = old_dpm ? steps - 1 : steps;
    for (std::int64_t i = 0; i < compared; ++i) {
      const double e = relative_error(run.x_steps[i], x_steps[i]);
      worst = std::max(worst, e);
      EXPECT_LT(e, 1e-5) << "after step " << i;
    }
    if (!old_dpm) {
      EXPECT_LT(relative_error(run.final, reference(prefix + "/final")), 1e-5);
    }
  }
  std::cout << "[ measured ] " << name << ": largest trajectory error " << worst << " (relative to max(1, max|x|))\n";
}

// Ancestral samplers: feeding back the reference's recorded noise gives the same result as
// drawing from the seeded generator, so the generator itself matches torch's.
class SharedReferenceNoise : public ::testing::TestWithParam<std::string> {};

// Keeps what the seeded generator draws.
class KeptNoise : public NoiseSource {
 public:
  explicit KeptNoise(std::uint64_t seed) : inner_(seed) {}
  at::Tensor next(at::IntArrayRef shape, const at::TensorOptions& options) override {
    draws.push_back(inner_.next(shape, options));
    return draws.back();
  }
  std::vector<at::Tensor> draws;

 private:
  GeneratorNoise inner_;
};

TEST_P(SharedReferenceNoise, RecordedNoiseReplays) {
  const std::string name = GetParam();
  const at::Tensor noises = reference(name + "/N10/noises");
  ASSERT_GT(noises.size(0), 0);
  std::vector<at::Tensor> draws;
  for (std::int64_t i = 0; i < noises.size(0); ++i) draws.push_back(noises[i]);
  auto s = build(name);
  RecordedNoise recorded(draws);
  auto replayed = schedulers::testing::run_fake_model(*s, 10, reference("x_base"), &recorded);
  auto fresh = build(name);
  KeptNoise generator(4321);
  auto drawn = schedulers::testing::run_fake_model(*fresh, 10, reference("x_base"), &generator);
  EXPECT_LT(relative_error(replayed.final, reference(name + "/N10/final")), 1e-5);
  // The same draws, number for number. torch's Box–Muller for 16 or more float32 numbers is
  // vectorised; under ATEN_CPU_CAPABILITY=default the scalar version gives the same numbers
  // to within a few float32 roundings of its log and cosine (measured: 4.9e-7 of the largest
  // value), so a machine without AVX2 gets the reference's noise to that precision.
  ASSERT_EQ(generator.draws.size(), draws.size());
  double worst = 0;
  for (std::size_t i = 0; i < draws.size(); ++i) worst = std::max(worst, relative_error(generator.draws[i], draws[i]));
  std::cout << "[ measured ] " << name << ": seeded draws against the reference's recorded ones " << worst << "\n";
  EXPECT_LE(worst, 8 * 1.1920928955078125e-7);
  if (worst == 0) EXPECT_TRUE(at::equal(replayed.final, drawn.final));
}

INSTANTIATE_TEST_SUITE_P(Schedulers, SharedReference,
                         ::testing::Values("ddpm_sd", "ddpm_linear", "ddim_sd", "ddim_sd_eta1", "ddim_sd_vpred",
                                           "euler_sd", "euler_ancestral_sd", "dpmpp2m_sd", "dpmpp2m_karras_sd",
                                           "dpmpp2m_sd_diffusers0263", "dpmpp2m_karras_sd_diffusers0263"));

// The samplers that draw noise (0.25.1's Euler also drew an unused tensor each step; current
// releases, and Pawtrait, draw none).
INSTANTIATE_TEST_SUITE_P(Schedulers, SharedReferenceNoise,
                         ::testing::Values("ddpm_sd", "ddpm_linear", "ddim_sd_eta1", "euler_ancestral_sd"));

TEST(SharedReference, AddNoiseAndVelocity) {
  NoiseSchedule schedule(SchedulerConfig::stable_diffusion());
  const at::Tensor x0 = reference("add_noise/x0");
  const at::Tensor noise = reference("add_noise/noise");
  const at::Tensor t = reference("add_noise/timesteps").to(at::kLong);
  EXPECT_LT(relative_error(schedule.add_noise(x0, noise, t), reference("add_noise/noisy")), 1e-6);
  EXPECT_LT(relative_error(schedule.get_velocity(x0, noise, t), reference("add_noise/velocity")), 1e-6);
}

// The timestep grids of every spacing at 1, 10, 25 and 50 steps.
TEST(SharedReference, TimestepSpacingVariants) {
  const nlohmann::json& variants = reference_json().at("timestep_spacing_variants");
  int checked = 0;
  for (auto it = variants.begin(); it != variants.end(); ++it) {
    SCOPED_TRACE(it.key());
    const std::string key = it.key();  // "<Class>/<spacing>/steps_offset1/N<n>"
    const std::string cls = key.substr(0, key.find('/'));
    const std::string rest = key.substr(cls.size() + 1);
    const std::string spacing = rest.substr(0, rest.find('/'));
    const std::int64_t steps = std::stoll(key.substr(key.rfind('N') + 1));
    SchedulerConfig config = SchedulerConfig::stable_diffusion();
    config.timestep_spacing = spacing;
    config.steps_offset = 1;
    std::unique_ptr<Scheduler> s;
    if (cls == "DDIMScheduler")
      s = std::make_unique<DDIMScheduler>(config);
    else if (cls == "DDPMScheduler")
      s = std::make_unique<DDPMScheduler>(config);
    else if (cls == "EulerDiscreteScheduler")
      s = std::make_unique<EulerScheduler>(config);
    else
      s = std::make_unique<DPMSolverMultistepScheduler>(config);
    s->set_timesteps(steps);
    const std::vector<double> expected = it.value().at("timesteps").get<std::vector<double>>();
    EXPECT_EQ(schedulers::testing::to_doubles(s->timesteps()), expected);
    if (it.value().contains("sigmas") && cls == "EulerDiscreteScheduler") {
      const std::vector<double> sigmas = it.value().at("sigmas").get<std::vector<double>>();
      const auto& mine = dynamic_cast<SigmaScheduler&>(*s).sigmas();
      ASSERT_EQ(mine.size(), sigmas.size());
      for (std::size_t i = 0; i < sigmas.size(); ++i) EXPECT_NEAR(mine[i], sigmas[i], 1e-6 * std::max(1.0, sigmas[i]));
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

}  // namespace
}  // namespace pawtrait::schedulers
