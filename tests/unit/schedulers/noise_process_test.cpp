// The noise processes the trainers use: the discrete β schedule is NoiseSchedule's own math
// and draw, flow matching has the closed forms of Lipman et al. / Esser et al.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"
#include "schedulers/noise_process.h"
#include "test_support.h"

namespace pawtrait::schedulers {
namespace {

TEST(DiscreteNoiseProcess, IsTheScheduleAndItsUniformDraw) {
  const DiscreteNoiseProcess process(SchedulerConfig::stable_diffusion());
  at::Generator a = at::make_generator<at::CPUGeneratorImpl>(7);
  at::Generator b = at::make_generator<at::CPUGeneratorImpl>(7);
  const at::Tensor t = process.sample_timesteps(64, a);
  // The same draw as diffusers' DreamBooth scripts (torch.randint(0, T, (bsz,))), so
  // training runs keep their numbers.
  EXPECT_TRUE(at::equal(t, at::randint(1000, {64}, b, at::kLong)));
  const at::Tensor x0 = at::randn({4, 4, 8, 8}), noise = at::randn({4, 4, 8, 8});
  const at::Tensor t4 = t.slice(0, 0, 4);
  EXPECT_TRUE(at::equal(process.add_noise(x0, noise, t4), process.schedule().add_noise(x0, noise, t4)));
  EXPECT_TRUE(at::equal(process.training_target(x0, noise, t4), noise));  // ε-prediction
  EXPECT_TRUE(at::equal(process.validation_timesteps(), at::tensor({100, 300, 500, 700, 900}, at::kLong)));
}

TEST(FlowMatchingNoiseProcess, InterpolatesStraightFromDataToNoise) {
  const FlowMatchingNoiseProcess process({});
  const at::Tensor x0 = at::randn({3, 2, 4, 4}), noise = at::randn({3, 2, 4, 4});
  const at::Tensor t = at::tensor({0.0, 500.0, 1000.0}, at::kFloat);
  const at::Tensor xt = process.add_noise(x0, noise, t);
  EXPECT_TRUE(at::allclose(xt[0], x0[0]));                         // σ = 0: the data
  EXPECT_TRUE(at::allclose(xt[1], 0.5 * x0[1] + 0.5 * noise[1]));  // σ = ½: half way
  EXPECT_TRUE(at::allclose(xt[2], noise[2]));                      // σ = 1: pure noise
  // The velocity d x_t / dσ along the straight path.
  EXPECT_TRUE(at::equal(process.training_target(x0, noise, t), noise - x0));
  EXPECT_TRUE(
      at::allclose(process.validation_timesteps(), at::tensor({100.0, 300.0, 500.0, 700.0, 900.0}, at::kFloat)));
}

TEST(FlowMatchingNoiseProcess, DrawsTimestepsFromItsDistribution) {
  constexpr std::int64_t n = 200000;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
  const at::Tensor uniform = FlowMatchingNoiseProcess({}).sigmas(FlowMatchingNoiseProcess({}).sample_timesteps(n, g));
  EXPECT_GE(uniform.min().item<double>(), 0.0);
  EXPECT_LE(uniform.max().item<double>(), 1.0);
  // Mean ½ and variance 1/12, each within 5 standard errors.
  EXPECT_NEAR(uniform.mean().item<double>(), 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(uniform.var().item<double>(), 1.0 / 12, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));

  // Logit-normal: logit(σ) is N(mean, std).
  const FlowMatchingNoiseProcess logit({.timestep_distribution = "logit_normal", .logit_mean = 0.5, .logit_std = 1.5});
  const at::Tensor s = logit.sigmas(logit.sample_timesteps(n, g)).to(at::kDouble);
  const at::Tensor u = at::log(s / (1 - s));
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 5 * 1.5 / std::sqrt(n));
  EXPECT_NEAR(u.std().item<double>(), 1.5, 5 * 1.5 / std::sqrt(2.0 * n));

  // A shift of 3 moves the median σ = ½ to 3·½ / (1 + 2·½) = ¾.
  const FlowMatchingNoiseProcess shifted({.shift = 3.0});
  const at::Tensor shifted_sigmas = shifted.sigmas(shifted.sample_timesteps(n, g));
  EXPECT_NEAR(shifted_sigmas.median().item<double>(), 0.75, 0.01);
}

TEST(FlowMatchingNoiseProcess, RefusesSettingsThatCannotWork) {
  EXPECT_THROW_MESSAGE(FlowMatchingNoiseProcess({.timestep_distribution = "mode"}), "uniform or logit_normal");
  EXPECT_THROW_MESSAGE(FlowMatchingNoiseProcess({.shift = 0.0}), "shift must be above 0");
  EXPECT_THROW_MESSAGE(FlowMatchingNoiseProcess({.logit_std = -1.0}), "standard deviation must be above 0");
}

}  // namespace
}  // namespace pawtrait::schedulers

namespace pawtrait::schedulers {
namespace {

// Samplers are made from the noise process: the discrete one gives the registry's sampler on
// its own config (the same timesteps); flow matching gives its Euler sampler and refuses the
// discrete ones by name.
TEST(NoiseProcessSamplers, ComeFromTheProcess) {
  const SchedulerConfig config = SchedulerConfig::stable_diffusion();
  const DiscreteNoiseProcess discrete(config);
  EXPECT_EQ(discrete.num_train_timesteps(), 1000);
  auto from_process = discrete.make_sampler("euler", {});
  auto from_registry = make_sampler("euler", config);
  from_process->set_timesteps(7);
  from_registry->set_timesteps(7);
  EXPECT_TRUE(at::equal(from_process->timesteps(), from_registry->timesteps()));
  EXPECT_THROW_MESSAGE(discrete.make_sampler("plms", {}), "unknown sampler \"plms\"");

  const FlowMatchingNoiseProcess flow({});
  EXPECT_EQ(flow.num_train_timesteps(), 1000);
  auto euler = flow.make_sampler("euler", {});
  euler->set_timesteps(2);  // a fixed shift of 1: σ = 1, ½
  EXPECT_TRUE(at::equal(euler->timesteps(), at::tensor({1000.0f, 500.0f})));
  EXPECT_THROW_MESSAGE(flow.make_sampler("dpmpp_2m", {}), "dpmpp_2m works on a discrete noise schedule");
  EXPECT_THROW_MESSAGE(flow.make_sampler("plms", {}), "unknown sampler \"plms\"");

  // A size-dependent shift needs the picture's token count.
  FlowMatchingNoiseProcess::Options sized;
  sized.sampling_shift.use_dynamic_shifting = true;
  sized.mu = compute_empirical_mu;
  const FlowMatchingNoiseProcess klein(sized);
  EXPECT_THROW_MESSAGE(klein.make_sampler("euler", {}), "needs the picture's token count");
  auto at_256 = klein.make_sampler("euler", {.image_tokens = 256});
  at_256->set_timesteps(4);
  EXPECT_TRUE(at::equal(at_256->timesteps(),
                        flow_match_schedule(4, compute_empirical_mu(256, 4), sized.sampling_shift).timesteps));
}

}  // namespace
}  // namespace pawtrait::schedulers
