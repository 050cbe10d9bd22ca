#pragma once

#include "schedulers/sigma_scheduler.h"

namespace pawtrait::schedulers {

// Euler's method on the probability-flow ODE dx/dσ = (x − x̂_0)/σ (Karras et al. 2022,
// Algorithm 2 without churn), optionally on Karras' σ spacing (use_karras_sigmas).
class EulerScheduler : public SigmaScheduler {
 public:
  explicit EulerScheduler(const SchedulerConfig& config);

  void set_timesteps(std::int64_t num_inference_steps) override;
  StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                  NoiseSource* noise) override;

 private:
  bool karras_;
  bool final_sigma_min_;
};

}  // namespace pawtrait::schedulers
