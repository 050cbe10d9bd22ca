#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "schedulers/scheduler_config.h"

namespace pawtrait::schedulers {

enum class PredictionType { Epsilon, VPrediction, Sample };
PredictionType parse_prediction_type(const std::string& name);

// The forward process of DDPM (Ho et al. 2020) for one β schedule: the single source of
// truth that training and every sampler share.
//   q(x_t | x_{t-1}) = N(sqrt(1-β_t) x_{t-1}, β_t I)                       (Eq. 2)
//   q(x_t | x_0)     = N(sqrt(ᾱ_t) x_0, (1-ᾱ_t) I),  ᾱ_t = Π_{s≤t} (1-β_s)   (Eq. 4)
//   q(x_{t-1} | x_t, x_0) = N(μ̃_t, β̃_t I)                                  (Eqs. 6-7)
// betas, alphas and alphas_cumprod are float32 and computed exactly as diffusers does, so
// samplers built on them reproduce the reference; the posterior terms are float64.
class NoiseSchedule {
 public:
  // Absent config keys take diffusers' defaults (1000 steps, linear 1e-4 → 0.02, epsilon).
  explicit NoiseSchedule(const SchedulerConfig& config);

  std::int64_t num_train_timesteps() const { return num_train_timesteps_; }
  PredictionType prediction_type() const { return prediction_type_; }

  const at::Tensor& betas() const { return betas_; }
  const at::Tensor& alphas() const { return alphas_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  // ᾱ_t as the float32 value diffusers indexes; t may be negative, which counts from the
  // end as a Python index does (trailing spacing can produce t = -1 in the reference).
  float alpha_cumprod(std::int64_t t) const;

  // ᾱ_{t-1} with ᾱ_{-1} = 1, and the posterior q(x_{t-1} | x_t, x_0) (DDPM Eq. 7), float64:
  //   β̃_t = (1-ᾱ_{t-1}) / (1-ᾱ_t) β_t
  //   μ̃_t = coef1 x_0 + coef2 x_t,  coef1 = sqrt(ᾱ_{t-1}) β_t / (1-ᾱ_t),
  //                                  coef2 = sqrt(α_t) (1-ᾱ_{t-1}) / (1-ᾱ_t)
  // posterior_log_variance_clipped repeats β̃_1 at t = 0, where β̃_0 = 0.
  const at::Tensor& alphas_cumprod_prev() const { return alphas_cumprod_prev_; }
  const at::Tensor& posterior_variance() const { return posterior_variance_; }
  const at::Tensor& posterior_log_variance_clipped() const { return posterior_log_variance_clipped_; }
  const at::Tensor& posterior_mean_coef1() const { return posterior_mean_coef1_; }
  const at::Tensor& posterior_mean_coef2() const { return posterior_mean_coef2_; }

  // All of these take a batch x (N, ...) and timesteps t of shape (N) (integer indices).
  // x_t = sqrt(ᾱ_t) x_0 + sqrt(1-ᾱ_t) ε (Eq. 4, reparameterised), in x_0's dtype.
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const;
  // v = sqrt(ᾱ_t) ε - sqrt(1-ᾱ_t) x_0 (Salimans & Ho 2022).
  at::Tensor get_velocity(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const;
  at::Tensor predict_x0_from_eps(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t) const;
  at::Tensor predict_eps_from_x0(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& t) const;
  at::Tensor predict_x0_from_v(const at::Tensor& x_t, const at::Tensor& v, const at::Tensor& t) const;
  at::Tensor predict_eps_from_v(const at::Tensor& x_t, const at::Tensor& v, const at::Tensor& t) const;
  // μ̃_t from x_0 (Eq. 7), and the same mean written with ε (Eq. 11):
  //   μ_θ = 1/sqrt(α_t) (x_t − β_t / sqrt(1−ᾱ_t) ε)
  at::Tensor posterior_mean(const at::Tensor& x0, const at::Tensor& x_t, const at::Tensor& t) const;
  at::Tensor posterior_mean_from_eps(const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t) const;
  // SNR(t) = ᾱ_t / (1 - ᾱ_t), float32.
  at::Tensor snr(const at::Tensor& t) const;
  // What the model learns to predict for this schedule's prediction type: ε, v or x_0.
  // The simplified ELBO (Ho et al. Eq. 14) is then ‖target − model(x_t, t)‖².
  at::Tensor training_target(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const;

 private:
  // ᾱ as diffusers has it (float32) for float32/16 inputs, the float64 product for float64.
  const at::Tensor& table_for(const at::Tensor& x) const;

  std::int64_t num_train_timesteps_ = 1000;
  PredictionType prediction_type_ = PredictionType::Epsilon;
  at::Tensor betas_, alphas_, alphas_cumprod_;
  at::Tensor alphas_cumprod_prev_, posterior_variance_, posterior_log_variance_clipped_;
  at::Tensor posterior_mean_coef1_, posterior_mean_coef2_;
  at::Tensor alphas_cumprod64_;  // float64 cumprod of the float32 α, for float64 math
  const float* alphas_cumprod_data_ = nullptr;
};

// The β_t of a config: linear, scaled_linear (linear in sqrt β), squaredcos_cap_v2
// (Nichol & Dhariwal 2021, Eq. 17, capped at 0.999) or the config's trained_betas,
// optionally rescaled to zero terminal SNR (Lin et al. 2023, Algorithm 1). float32.
at::Tensor make_betas(const SchedulerConfig& config);

}  // namespace pawtrait::schedulers
