#include "schedulers/noise_schedule.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "common/error.h"

namespace pawtrait::schedulers {
namespace {

// Gathers per-timestep values for a batch and shapes them to broadcast over x.
at::Tensor extract(const at::Tensor& values, const at::Tensor& t, const at::Tensor& like) {
  at::Tensor picked = values.to(like.device()).index_select(0, t.to(like.device()).to(at::kLong).flatten());
  std::vector<std::int64_t> shape(static_cast<std::size_t>(like.dim()), 1);
  shape[0] = picked.size(0);
  return picked.to(like.scalar_type()).view(shape);
}

at::Tensor rescale_zero_terminal_snr(const at::Tensor& betas) {
  at::Tensor alphas_cumprod = at::cumprod(1.0 - betas, 0);
  at::Tensor alphas_bar_sqrt = alphas_cumprod.sqrt();
  at::Tensor first = alphas_bar_sqrt[0].clone();
  at::Tensor last = alphas_bar_sqrt[-1].clone();
  alphas_bar_sqrt -= last;
  alphas_bar_sqrt *= first / (first - last);
  at::Tensor alphas_bar = alphas_bar_sqrt.pow(2);
  at::Tensor alphas = at::cat({alphas_bar.slice(0, 0, 1), alphas_bar.slice(0, 1) / alphas_bar.slice(0, 0, -1)});
  return 1 - alphas;
}

}  // namespace

PredictionType parse_prediction_type(const std::string& name) {
  if (name == "epsilon") return PredictionType::Epsilon;
  if (name == "v_prediction") return PredictionType::VPrediction;
  if (name == "sample") return PredictionType::Sample;
  throw Error("unknown prediction_type \"" + name + "\"; use epsilon, v_prediction or sample");
}

at::Tensor make_betas(const SchedulerConfig& config) {
  const std::int64_t n = config.num_train_timesteps.value_or(1000);
  const double beta_start = config.beta_start.value_or(0.0001);
  const double beta_end = config.beta_end.value_or(0.02);
  const std::string schedule = config.beta_schedule.value_or("linear");
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  at::Tensor betas;
  if (config.trained_betas) {
    if (static_cast<std::int64_t>(config.trained_betas->size()) != n) {
      throw Error("trained_betas has " + std::to_string(config.trained_betas->size()) +
                  " values but num_train_timesteps is " + std::to_string(n) + "; they must match");
    }
    betas = at::tensor(*config.trained_betas, at::kDouble).to(at::kFloat);
  } else if (schedule == "linear") {
    betas = at::linspace(beta_start, beta_end, n, f32);
  } else if (schedule == "scaled_linear") {
    betas = at::linspace(std::sqrt(beta_start), std::sqrt(beta_end), n, f32).pow(2);
  } else if (schedule == "squaredcos_cap_v2") {
    // ᾱ(t) = cos²((t + s)/(1 + s) · π/2), s = 0.008; β_t = 1 − ᾱ(t+1)/ᾱ(t), in float64 first.
    auto alpha_bar = [](double t) {
      const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
      return c * c;
    };
    std::vector<double> values;
    values.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const double t1 = static_cast<double>(i) / static_cast<double>(n);
      const double t2 = static_cast<double>(i + 1) / static_cast<double>(n);
      values.push_back(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
    }
    betas = at::tensor(values, at::kDouble).to(at::kFloat);
  } else {
    throw Error("unknown beta_schedule \"" + schedule + "\"; use linear, scaled_linear or squaredcos_cap_v2");
  }
  if (config.rescale_betas_zero_snr.value_or(false)) betas = rescale_zero_terminal_snr(betas);
  return betas;
}

NoiseSchedule::NoiseSchedule(const SchedulerConfig& config)
    : num_train_timesteps_(config.num_train_timesteps.value_or(1000)),
      prediction_type_(parse_prediction_type(config.prediction_type.value_or("epsilon"))) {
  betas_ = make_betas(config);
  alphas_ = 1.0 - betas_;
  alphas_cumprod_ = at::cumprod(alphas_, 0);
  alphas_cumprod_data_ = alphas_cumprod_.data_ptr<float>();

  // β = 1 − α in float64, so that the posterior terms satisfy the identities exactly.
  const at::Tensor alphas64 = alphas_.to(at::kDouble);
  const at::Tensor betas64 = 1.0 - alphas64;
  alphas_cumprod64_ = at::cumprod(alphas64, 0);
  const at::Tensor& ac64 = alphas_cumprod64_;
  alphas_cumprod_prev_ = at::cat({at::ones({1}, at::kDouble), ac64.slice(0, 0, -1)});
  posterior_variance_ = betas64 * (1.0 - alphas_cumprod_prev_) / (1.0 - ac64);
  const at::Tensor clipped = num_train_timesteps_ > 1
                                 ? at::cat({posterior_variance_.slice(0, 1, 2), posterior_variance_.slice(0, 1)})
                                 : posterior_variance_.clamp_min(1e-20);
  posterior_log_variance_clipped_ = clipped.log();
  posterior_mean_coef1_ = betas64 * alphas_cumprod_prev_.sqrt() / (1.0 - ac64);
  posterior_mean_coef2_ = (1.0 - alphas_cumprod_prev_) * alphas64.sqrt() / (1.0 - ac64);
}

const at::Tensor& NoiseSchedule::table_for(const at::Tensor& x) const {
  return x.scalar_type() == at::kDouble ? alphas_cumprod64_ : alphas_cumprod_;
}

float NoiseSchedule::alpha_cumprod(std::int64_t t) const {
  const std::int64_t n = num_train_timesteps_;
  if (t < -n || t >= n) {
    throw Error("timestep " + std::to_string(t) + " is outside the schedule's 0.." + std::to_string(n - 1));
  }
  return alphas_cumprod_data_[t < 0 ? t + n : t];
}

at::Tensor NoiseSchedule::add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const {
  const at::Tensor ac = extract(table_for(x0), t, x0);
  return ac.pow(0.5) * x0 + (1 - ac).pow(0.5) * noise;
}

at::Tensor NoiseSchedule::get_velocity(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const {
  const at::Tensor ac = extract(table_for(x0), t, x0);
  return ac.pow(0.5) * noise - (1 - ac).pow(0.5) * x0;
}

at::Tensor NoiseSchedule::predict_x0_from_eps(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t) const {
  const at::Tensor ac = extract(table_for(x_t), t, x_t);
  return (x_t - (1 - ac).pow(0.5) * eps) / ac.pow(0.5);
}

at::Tensor NoiseSchedule::predict_eps_from_x0(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& t) const {
  const at::Tensor ac = extract(table_for(x_t), t, x_t);
  return (x_t - ac.pow(0.5) * x0) / (1 - ac).pow(0.5);
}

at::Tensor NoiseSchedule::predict_x0_from_v(const at::Tensor& x_t, const at::Tensor& v, const at::Tensor& t) const {
  const at::Tensor ac = extract(table_for(x_t), t, x_t);
  return ac.pow(0.5) * x_t - (1 - ac).pow(0.5) * v;
}

at::Tensor NoiseSchedule::predict_eps_from_v(const at::Tensor& x_t, const at::Tensor& v, const at::Tensor& t) const {
  const at::Tensor ac = extract(table_for(x_t), t, x_t);
  return ac.pow(0.5) * v + (1 - ac).pow(0.5) * x_t;
}

at::Tensor NoiseSchedule::posterior_mean(const at::Tensor& x0, const at::Tensor& x_t, const at::Tensor& t) const {
  return extract(posterior_mean_coef1_, t, x_t) * x0 + extract(posterior_mean_coef2_, t, x_t) * x_t;
}

at::Tensor NoiseSchedule::posterior_mean_from_eps(const at::Tensor& x_t, const at::Tensor& eps,
                                                  const at::Tensor& t) const {
  const at::Tensor alpha = extract(alphas_.to(at::kDouble), t, x_t);
  const at::Tensor beta = 1 - alpha;
  const at::Tensor ac = extract(alphas_cumprod64_, t, x_t);
  return (x_t - beta / (1 - ac).sqrt() * eps) / alpha.sqrt();
}

at::Tensor NoiseSchedule::snr(const at::Tensor& t) const {
  const at::Tensor ac = alphas_cumprod_.index_select(0, t.to(at::kLong).flatten().cpu());
  return ac / (1 - ac);
}

at::Tensor NoiseSchedule::training_target(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const {
  switch (prediction_type_) {
    case PredictionType::Epsilon:
      return noise;
    case PredictionType::VPrediction:
      return get_velocity(x0, noise, t);
    case PredictionType::Sample:
      return x0;
  }
  return noise;
}

}  // namespace pawtrait::schedulers
