#pragma once

#include "schedulers/sigma_scheduler.h"

namespace pawtrait::schedulers {

// Euler ancestral ("Euler a"): an Euler step down to σ_down, then fresh noise of σ_up, with
// σ_down² + σ_up² = σ_next² (k-diffusion's get_ancestral_step, η = 1).
class EulerAncestralScheduler : public SigmaScheduler {
 public:
  explicit EulerAncestralScheduler(const SchedulerConfig& config);

  void set_timesteps(std::int64_t num_inference_steps) override;
  StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                  NoiseSource* noise) override;
};

}  // namespace pawtrait::schedulers
