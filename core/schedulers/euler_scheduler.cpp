#include "schedulers/euler_scheduler.h"

#include <ATen/ATen.h>

namespace pawtrait::schedulers {

EulerScheduler::EulerScheduler(const SchedulerConfig& config)
    : SigmaScheduler(config, "linspace"),
      karras_(config.use_karras_sigmas.value_or(false)),
      final_sigma_min_(config.final_sigmas_type.value_or("zero") == "sigma_min") {}

void EulerScheduler::set_timesteps(std::int64_t num_inference_steps) {
  set_sigmas(num_inference_steps, karras_, final_sigma_min_);
}

StepOutput EulerScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                                NoiseSource*) {
  const auto i = static_cast<std::size_t>(step_index_for(timestep));
  const at::Tensor x = sample.to(at::kFloat);
  // No churn (γ = 0), so σ̂ = σ and no noise is added.
  const float sigma = sigmas_[i];
  const float sigma_hat = sigma;
  at::Tensor pred_original_sample = predict_original(model_output, x, sigma_hat, sigma);
  at::Tensor derivative = (x - pred_original_sample) / sigma_hat;
  const float dt = sigmas_[i + 1] - sigma_hat;
  at::Tensor prev_sample = (x + derivative * dt).to(model_output.scalar_type());
  advance();
  return {prev_sample, pred_original_sample};
}

}  // namespace pawtrait::schedulers
