#pragma once

#include <optional>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/timestep_spacing.h"

namespace pawtrait::schedulers {

// What the Euler samplers share: they integrate the probability-flow ODE in the variable
// x / sqrt(ᾱ) with noise level σ (Karras et al. 2022), so the model input is scaled by
// 1/sqrt(σ² + 1) and the initial noise by σ_max. Keeps a step index that advances with
// each step(), found from the first timestep it is given, as the reference does.
class SigmaScheduler : public DiscreteScheduler {
 public:
  at::Tensor timesteps() const override;
  double init_noise_sigma() const override;
  at::Tensor scale_model_input(const at::Tensor& sample, double timestep) override;
  // x_0 + σ ε at the σ of each timestep (the timesteps must be this run's).
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const override;
  int order() const override { return 1; }

  // The run's noise levels, one per timestep plus the final one.
  const std::vector<float>& sigmas() const { return sigmas_; }

 protected:
  SigmaScheduler(const SchedulerConfig& config, const std::string& default_spacing);
  // Timesteps and σ for `steps` steps, without and with Karras' σ spacing (Eq. 5).
  void set_sigmas(std::int64_t steps, bool karras, bool final_sigma_min);
  std::int64_t step_index_for(double timestep);
  void advance() { ++*step_index_; }
  // x̂_0 from the model output at noise level σ (ε: x - σ ε̂; v: Salimans & Ho's inverse).
  at::Tensor predict_original(const at::Tensor& model_output, const at::Tensor& sample, float sigma_hat,
                              float sigma) const;

  TimestepSpacing spacing_;
  std::int64_t steps_offset_;
  std::vector<float> training_sigmas_;
  std::vector<float> timesteps_;
  std::vector<float> sigmas_;
  std::optional<std::int64_t> step_index_;
};

}  // namespace pawtrait::schedulers
