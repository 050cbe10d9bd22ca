#include "schedulers/ddpm_scheduler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace pawtrait::schedulers {

DDPMScheduler::DDPMScheduler(const SchedulerConfig& config)
    : VpScheduler(config),
      spacing_(parse_timestep_spacing(config.timestep_spacing.value_or("leading"))),
      steps_offset_(config.steps_offset.value_or(0)),
      clip_sample_(config.clip_sample.value_or(true)),
      clip_sample_range_(static_cast<float>(config.clip_sample_range.value_or(1.0))) {
  const std::string variance = config.variance_type.value_or("fixed_small");
  if (variance == "fixed_small") {
    variance_type_ = Variance::FixedSmall;
  } else if (variance == "fixed_small_log") {
    variance_type_ = Variance::FixedSmallLog;
  } else if (variance == "fixed_large") {
    variance_type_ = Variance::FixedLarge;
  } else {
    throw Error("DDPM: variance_type \"" + variance + "\" is not supported; use fixed_small or fixed_large");
  }
  // Until set_timesteps: every training timestep, as the reference starts.
  for (std::int64_t t = schedule_.num_train_timesteps() - 1; t >= 0; --t) timesteps_.push_back(t);
}

void DDPMScheduler::set_timesteps(std::int64_t num_inference_steps) {
  timesteps_ = checked_ddpm_timesteps(spacing_, schedule_.num_train_timesteps(), num_inference_steps, steps_offset_);
}

at::Tensor DDPMScheduler::timesteps() const { return at::tensor(timesteps_, at::kLong); }

std::int64_t DDPMScheduler::previous_timestep(std::int64_t t) const {
  auto it = std::find(timesteps_.begin(), timesteps_.end(), t);
  if (it == timesteps_.end()) throw Error("DDPM: timestep " + std::to_string(t) + " is not in this run's schedule");
  return it + 1 == timesteps_.end() ? -1 : *(it + 1);
}

float DDPMScheduler::variance(std::int64_t t) const {
  const std::int64_t prev_t = previous_timestep(t);
  const float alpha_prod_t = schedule_.alpha_cumprod(t);
  const float alpha_prod_t_prev = prev_t >= 0 ? schedule_.alpha_cumprod(prev_t) : 1.0f;
  const float current_beta_t = 1.0f - alpha_prod_t / alpha_prod_t_prev;
  // β̃_t (DDPM Eq. 7), floored so that its log stays finite at the last step.
  const float posterior = std::max((1.0f - alpha_prod_t_prev) / (1.0f - alpha_prod_t) * current_beta_t, 1e-20f);
  switch (variance_type_) {
    case Variance::FixedSmall:
      return posterior;
    case Variance::FixedSmallLog:
      return std::exp(0.5f * std::log(posterior));
    case Variance::FixedLarge:
      return current_beta_t;
  }
  return posterior;
}

StepOutput DDPMScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                               NoiseSource* noise) {
  const auto t = static_cast<std::int64_t>(timestep);
  const std::int64_t prev_t = previous_timestep(t);

  // 1. ᾱ and β products at t and at the previous inference timestep.
  const float alpha_prod_t = schedule_.alpha_cumprod(t);
  const float alpha_prod_t_prev = prev_t >= 0 ? schedule_.alpha_cumprod(prev_t) : 1.0f;
  const float beta_prod_t = 1.0f - alpha_prod_t;
  const float beta_prod_t_prev = 1.0f - alpha_prod_t_prev;
  const float current_alpha_t = alpha_prod_t / alpha_prod_t_prev;
  const float current_beta_t = 1.0f - current_alpha_t;

  // 2. x̂_0 from the model output (DDPM Eq. 15 for ε).
  at::Tensor pred_original_sample;
  switch (schedule_.prediction_type()) {
    case PredictionType::Epsilon:
      pred_original_sample = (sample - std::sqrt(beta_prod_t) * model_output) / std::sqrt(alpha_prod_t);
      break;
    case PredictionType::Sample:
      pred_original_sample = model_output;
      break;
    case PredictionType::VPrediction:
      pred_original_sample = std::sqrt(alpha_prod_t) * sample - std::sqrt(beta_prod_t) * model_output;
      break;
  }
  if (clip_sample_) pred_original_sample = pred_original_sample.clamp(-clip_sample_range_, clip_sample_range_);

  // 3. The posterior mean μ̃_t(x_t, x̂_0) (DDPM Eq. 7).
  const float pred_original_sample_coeff = (std::sqrt(alpha_prod_t_prev) * current_beta_t) / beta_prod_t;
  const float current_sample_coeff = std::sqrt(current_alpha_t) * beta_prod_t_prev / beta_prod_t;
  at::Tensor prev_sample = pred_original_sample_coeff * pred_original_sample + current_sample_coeff * sample;

  // 4. Add σ_t z, except at the last step (Algorithm 2: z = 0 when t = 1).
  if (t > 0) {
    TORCH_CHECK(noise != nullptr, "DDPM sampling needs a noise source");
    at::Tensor z = noise->next(model_output.sizes(), model_output.options());
    const float v = variance(t);
    const float scale = variance_type_ == Variance::FixedSmallLog ? v : std::sqrt(v);
    prev_sample = prev_sample + scale * z;
  }
  return {prev_sample, pred_original_sample};
}

}  // namespace pawtrait::schedulers
