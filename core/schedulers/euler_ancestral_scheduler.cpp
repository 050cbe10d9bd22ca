#include "schedulers/euler_ancestral_scheduler.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"

namespace pawtrait::schedulers {

EulerAncestralScheduler::EulerAncestralScheduler(const SchedulerConfig& config) : SigmaScheduler(config, "linspace") {
  if (schedule_.prediction_type() == PredictionType::Sample) {
    throw Error("Euler ancestral does not support prediction_type \"sample\"; use epsilon or v_prediction");
  }
}

void EulerAncestralScheduler::set_timesteps(std::int64_t num_inference_steps) {
  // The reference's Euler ancestral has neither Karras σ nor a σ_min final level.
  set_sigmas(num_inference_steps, /*karras=*/false, /*final_sigma_min=*/false);
}

StepOutput EulerAncestralScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                                         NoiseSource* noise) {
  const auto i = static_cast<std::size_t>(step_index_for(timestep));
  const at::Tensor x = sample.to(at::kFloat);
  const float sigma = sigmas_[i];
  at::Tensor pred_original_sample = predict_original(model_output, x, sigma, sigma);

  const float sigma_from = sigmas_[i];
  const float sigma_to = sigmas_[i + 1];
  const float sigma_up =
      std::sqrt(sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to) / (sigma_from * sigma_from));
  const float sigma_down = std::sqrt(sigma_to * sigma_to - sigma_up * sigma_up);

  at::Tensor derivative = (x - pred_original_sample) / sigma;
  const float dt = sigma_down - sigma;
  at::Tensor prev_sample = x + derivative * dt;
  TORCH_CHECK(noise != nullptr, "Euler ancestral sampling needs a noise source");
  prev_sample = prev_sample + noise->next(model_output.sizes(), model_output.options()) * sigma_up;
  advance();
  return {prev_sample.to(model_output.scalar_type()), pred_original_sample};
}

}  // namespace pawtrait::schedulers
