#include "schedulers/ddim_scheduler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace pawtrait::schedulers {

DDIMScheduler::DDIMScheduler(const SchedulerConfig& config, double eta)
    : VpScheduler(config),
      spacing_(parse_timestep_spacing(config.timestep_spacing.value_or("leading"))),
      steps_offset_(config.steps_offset.value_or(0)),
      clip_sample_(config.clip_sample.value_or(true)),
      clip_sample_range_(static_cast<float>(config.clip_sample_range.value_or(1.0))),
      // The "previous" ᾱ of the last step: 1 (a clean x_0), or ᾱ_0 as SD's config asks.
      final_alpha_cumprod_(config.set_alpha_to_one.value_or(true) ? 1.0f : schedule_.alpha_cumprod(0)),
      eta_(eta) {
  if (eta < 0) throw Error("DDIM: eta must be 0 or more; got " + std::to_string(eta));
}

void DDIMScheduler::set_timesteps(std::int64_t num_inference_steps) {
  timesteps_ = checked_ddpm_timesteps(spacing_, schedule_.num_train_timesteps(), num_inference_steps, steps_offset_);
  num_inference_steps_ = num_inference_steps;
}

at::Tensor DDIMScheduler::timesteps() const { return at::tensor(timesteps_, at::kLong); }

StepOutput DDIMScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                               NoiseSource* noise) {
  if (num_inference_steps_ == 0) throw Error("DDIM: call set_timesteps before step");
  const auto t = static_cast<std::int64_t>(timestep);
  // 1. The previous timestep is one stride back, for every spacing (as the reference has it).
  const std::int64_t prev_t = t - schedule_.num_train_timesteps() / num_inference_steps_;

  // 2. ᾱ_t and ᾱ_{t_prev}.
  const float alpha_prod_t = schedule_.alpha_cumprod(t);
  const float alpha_prod_t_prev = prev_t >= 0 ? schedule_.alpha_cumprod(prev_t) : final_alpha_cumprod_;
  const float beta_prod_t = 1.0f - alpha_prod_t;

  // 3. x̂_0 and ε̂ ("predicted x_0" and the direction term of Eq. 12).
  at::Tensor pred_original_sample;
  at::Tensor pred_epsilon;
  switch (schedule_.prediction_type()) {
    case PredictionType::Epsilon:
      pred_original_sample = (sample - std::sqrt(beta_prod_t) * model_output) / std::sqrt(alpha_prod_t);
      pred_epsilon = model_output;
      break;
    case PredictionType::Sample:
      pred_original_sample = model_output;
      pred_epsilon = (sample - std::sqrt(alpha_prod_t) * pred_original_sample) / std::sqrt(beta_prod_t);
      break;
    case PredictionType::VPrediction:
      pred_original_sample = std::sqrt(alpha_prod_t) * sample - std::sqrt(beta_prod_t) * model_output;
      pred_epsilon = std::sqrt(alpha_prod_t) * model_output + std::sqrt(beta_prod_t) * sample;
      break;
  }
  if (clip_sample_) pred_original_sample = pred_original_sample.clamp(-clip_sample_range_, clip_sample_range_);

  // 4. σ_t(η) = η sqrt((1-ᾱ_prev)/(1-ᾱ_t)) sqrt(1 - ᾱ_t/ᾱ_prev) (Eq. 16).
  const float variance = ((1.0f - alpha_prod_t_prev) / beta_prod_t) * (1.0f - alpha_prod_t / alpha_prod_t_prev);
  const float std_dev_t = static_cast<float>(eta_) * std::sqrt(variance);

  // 5. x_{t-1} = sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev - σ²) ε̂ + σ z (Eq. 12).
  // 1 − ᾱ_prev − σ² ≥ 0 in exact arithmetic; rounding can take it just below zero on
  // zero-terminal-SNR schedules with η > 0, where the reference then returns NaN.
  const float direction = std::max(1.0f - alpha_prod_t_prev - std_dev_t * std_dev_t, 0.0f);
  at::Tensor pred_sample_direction = std::sqrt(direction) * pred_epsilon;
  at::Tensor prev_sample = std::sqrt(alpha_prod_t_prev) * pred_original_sample + pred_sample_direction;
  if (eta_ > 0) {
    TORCH_CHECK(noise != nullptr, "DDIM with eta > 0 needs a noise source");
    prev_sample = prev_sample + std_dev_t * noise->next(model_output.sizes(), model_output.options());
  }
  return {prev_sample, pred_original_sample};
}

}  // namespace pawtrait::schedulers
