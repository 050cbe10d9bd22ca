// The DDPM mathematics itself (Ho et al. 2020), checked from first principles rather than
// against another implementation.
#include <ATen/ATen.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "schedulers/noise_schedule.h"
#include "test_support.h"

namespace pawtrait::schedulers {
namespace {

SchedulerConfig linear_config() { return SchedulerConfig{}; }  // DDPM's linear 1e-4 → 0.02

SchedulerConfig sd_config() { return SchedulerConfig::stable_diffusion(); }

// Iterating q(x_t | x_{t-1}) = N(sqrt(1-β_t) x_{t-1}, β_t I) from a fixed x_0 gives, at every
// t, samples whose mean and variance are the closed form's sqrt(ᾱ_t) x_0 and 1 - ᾱ_t.
TEST(DiffusionMath, IteratedForwardProcessMatchesClosedForm) {
  NoiseSchedule schedule(linear_config());
  const at::Tensor betas = schedule.betas().to(at::kDouble);
  const at::Tensor ac = schedule.alphas_cumprod().to(at::kDouble);
  const std::int64_t samples = 20000;
  const at::Tensor x0 = at::tensor({1.5, -0.7, 0.0, 2.0}, at::kDouble);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  at::Tensor x = x0.unsqueeze(0).expand({samples, 4}).clone();
  for (std::int64_t t = 0; t < schedule.num_train_timesteps(); ++t) {
    const double beta = betas[t].item<double>();
    x = std::sqrt(1 - beta) * x + std::sqrt(beta) * at::randn({samples, 4}, gen, at::kDouble);
    if (t == 9 || t == 99 || t == 499 || t == 999) {
      SCOPED_TRACE("t = " + std::to_string(t));
      const double abar = ac[t].item<double>();
      const at::Tensor mean = x.mean(0);
      const at::Tensor var = x.var(0);
      const double expected_var = 1 - abar;
      // Five standard errors: σ/sqrt(n) for the mean, σ² sqrt(2/(n-1)) for the variance.
      const double mean_tolerance = 5 * std::sqrt(expected_var / samples);
      const double var_tolerance = 5 * expected_var * std::sqrt(2.0 / (samples - 1));
      for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(mean[i].item<double>(), std::sqrt(abar) * x0[i].item<double>(), mean_tolerance);
        EXPECT_NEAR(var[i].item<double>(), expected_var, var_tolerance);
      }
    }
  }
}

// add_noise is exactly the reparameterised closed form, batched over t.
TEST(DiffusionMath, AddNoiseIsTheClosedForm) {
  NoiseSchedule schedule(sd_config());
  const at::Tensor x0 = at::randn({3, 4, 2, 2});
  const at::Tensor noise = at::randn({3, 4, 2, 2});
  const at::Tensor t = at::tensor({0, 500, 999}, at::kLong);
  const at::Tensor noisy = schedule.add_noise(x0, noise, t);
  for (int i = 0; i < 3; ++i) {
    const double abar = schedule.alphas_cumprod()[t[i].item<std::int64_t>()].item<double>();
    const at::Tensor expected = std::sqrt(abar) * x0[i] + std::sqrt(1 - abar) * noise[i];
    EXPECT_LT((noisy[i] - expected).abs().max().item<double>(), 1e-6);
  }
}

// The posterior q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0): multiplying the two
// Gaussians in x_{t-1} directly (precisions add, means weight by precision) gives the
// closed-form coefficients and β̃_t.
TEST(DiffusionMath, PosteriorEqualsProductOfGaussians) {
  for (const SchedulerConfig& config : {linear_config(), sd_config()}) {
    NoiseSchedule schedule(config);
    const at::Tensor alphas = schedule.alphas().to(at::kDouble);
    const at::Tensor betas = 1 - alphas;
    const at::Tensor ac = at::cumprod(alphas, 0);
    const at::Tensor x0 = at::tensor({0.8}, at::kDouble);
    const at::Tensor xt = at::tensor({-0.3}, at::kDouble);
    double worst_mean = 0;
    double worst_var = 0;
    for (std::int64_t t = 1; t < schedule.num_train_timesteps(); ++t) {
      const double abar_prev = ac[t - 1].item<double>();
      const double alpha = alphas[t].item<double>();
      const double beta = betas[t].item<double>();
      const double precision = 1 / (1 - abar_prev) + alpha / beta;
      const double variance = 1 / precision;
      const double mean = variance * (std::sqrt(abar_prev) * x0.item<double>() / (1 - abar_prev) +
                                      std::sqrt(alpha) * xt.item<double>() / beta);
      const at::Tensor tt = at::tensor({t}, at::kLong);
      const double closed_mean = schedule.posterior_mean(x0, xt, tt).item<double>();
      const double closed_var = schedule.posterior_variance()[t].item<double>();
      worst_mean = std::max(worst_mean, std::abs(closed_mean - mean) / std::max(1.0, std::abs(mean)));
      worst_var = std::max(worst_var, std::abs(closed_var - variance) / variance);
      EXPECT_NEAR(std::exp(schedule.posterior_log_variance_clipped()[t].item<double>()), closed_var,
                  1e-12 * closed_var);
    }
    EXPECT_LT(worst_mean, 1e-10);
    EXPECT_LT(worst_var, 1e-10);
    // At t = 0 there is nothing left to remove: mean x_0, variance 0 (the log is clipped to β̃_1).
    EXPECT_EQ(schedule.posterior_variance()[0].item<double>(), 0.0);
    EXPECT_NEAR(schedule.posterior_mean(x0, xt, at::tensor({0}, at::kLong)).item<double>(), 0.8, 1e-12);
    EXPECT_EQ(schedule.posterior_log_variance_clipped()[0].item<double>(),
              schedule.posterior_log_variance_clipped()[1].item<double>());
  }
}

// Substituting x_0 = (x_t − sqrt(1−ᾱ_t) ε)/sqrt(ᾱ_t) into μ̃_t gives
// 1/sqrt(α_t) (x_t − β_t/sqrt(1−ᾱ_t) ε) (Ho et al. Eq. 11).
TEST(DiffusionMath, PosteriorMeanInTermsOfEpsilon) {
  NoiseSchedule schedule(sd_config());
  const at::Tensor xt = at::randn({4, 3}, at::kDouble);
  const at::Tensor eps = at::randn({4, 3}, at::kDouble);
  for (std::int64_t t : {1, 10, 250, 500, 999}) {
    const at::Tensor tt = at::full({4}, t, at::kLong);
    const at::Tensor x0 = schedule.predict_x0_from_eps(xt, eps, tt);
    const at::Tensor via_x0 = schedule.posterior_mean(x0, xt, tt);
    const at::Tensor via_eps = schedule.posterior_mean_from_eps(xt, eps, tt);
    EXPECT_LT((via_x0 - via_eps).abs().max().item<double>(), 1e-9) << "t = " << t;
  }
}

// ε, x_0 and v are three views of the same (x_0, ε) pair.
TEST(DiffusionMath, PredictionConversionsRoundTrip) {
  NoiseSchedule schedule(sd_config());
  const at::Tensor x0 = at::randn({3, 4}, at::kDouble);
  const at::Tensor eps = at::randn({3, 4}, at::kDouble);
  const at::Tensor t = at::tensor({5, 400, 990}, at::kLong);
  const at::Tensor xt = schedule.add_noise(x0, eps, t);
  const at::Tensor v = schedule.get_velocity(x0, eps, t);
  EXPECT_LT((schedule.predict_x0_from_eps(xt, eps, t) - x0).abs().max().item<double>(), 1e-6);
  EXPECT_LT((schedule.predict_eps_from_x0(xt, x0, t) - eps).abs().max().item<double>(), 1e-6);
  EXPECT_LT((schedule.predict_x0_from_v(xt, v, t) - x0).abs().max().item<double>(), 1e-6);
  EXPECT_LT((schedule.predict_eps_from_v(xt, v, t) - eps).abs().max().item<double>(), 1e-6);
}

TEST(DiffusionMath, SnrFallsWithT) {
  NoiseSchedule schedule(sd_config());
  const at::Tensor snr = schedule.snr(at::arange(1000, at::kLong));
  EXPECT_TRUE((snr.slice(0, 1) < snr.slice(0, 0, -1)).all().item<bool>());
  const double abar = schedule.alphas_cumprod()[500].item<double>();
  EXPECT_NEAR(snr[500].item<double>(), abar / (1 - abar), 1e-6 * abar / (1 - abar));
}

TEST(DiffusionMath, TrainingTargetFollowsPredictionType) {
  SchedulerConfig v = sd_config();
  v.prediction_type = "v_prediction";
  NoiseSchedule eps_schedule(sd_config());
  NoiseSchedule v_schedule(v);
  const at::Tensor x0 = at::randn({2, 4});
  const at::Tensor noise = at::randn({2, 4});
  const at::Tensor t = at::tensor({10, 500}, at::kLong);
  EXPECT_TRUE(at::equal(eps_schedule.training_target(x0, noise, t), noise));
  EXPECT_TRUE(at::equal(v_schedule.training_target(x0, noise, t), v_schedule.get_velocity(x0, noise, t)));
}

// The three β schedules against their definitions.
TEST(DiffusionMath, BetaSchedules) {
  NoiseSchedule linear(linear_config());
  EXPECT_NEAR(linear.betas()[0].item<double>(), 1e-4, 1e-10);
  EXPECT_NEAR(linear.betas()[999].item<double>(), 0.02, 1e-9);
  NoiseSchedule sd(sd_config());
  EXPECT_NEAR(std::sqrt(sd.betas()[500].item<double>()),
              std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * 500 / 999, 1e-7);
  SchedulerConfig cosine;
  cosine.beta_schedule = "squaredcos_cap_v2";
  NoiseSchedule cos_schedule(cosine);
  // ᾱ_t = ᾱ(t+1)/ᾱ(0) with ᾱ(t) = cos²((t/T + s)/(1 + s) π/2), except where the 0.999 cap binds.
  auto f = [](double t) { return std::pow(std::cos((t / 1000.0 + 0.008) / 1.008 * M_PI / 2), 2); };
  EXPECT_NEAR(cos_schedule.alphas_cumprod()[499].item<double>(), f(500) / f(0), 1e-5);
  EXPECT_NEAR(cos_schedule.betas()[999].item<double>(), 0.999, 1e-6);
}

}  // namespace
}  // namespace pawtrait::schedulers
