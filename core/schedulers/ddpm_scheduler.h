#pragma once

#include <vector>

#include "schedulers/timestep_spacing.h"
#include "schedulers/vp_scheduler.h"

namespace pawtrait::schedulers {

// DDPM ancestral sampling (Ho et al. 2020, Algorithm 2): x_{t-1} drawn from the posterior
// q(x_{t-1} | x_t, x̂_0) with x̂_0 predicted by the model; variance β̃_t ("fixed_small") or
// β_t ("fixed_large"). With fewer steps than training timesteps the same formulas run
// between consecutive inference timesteps, with ᾱ of the previous one.
class DDPMScheduler : public VpScheduler {
 public:
  explicit DDPMScheduler(const SchedulerConfig& config);

  void set_timesteps(std::int64_t num_inference_steps) override;
  at::Tensor timesteps() const override;
  StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                  NoiseSource* noise) override;

  std::int64_t previous_timestep(std::int64_t t) const;
  // The variance of the step from t (its square root scales the noise; see step()).
  float variance(std::int64_t t) const;

 private:
  enum class Variance { FixedSmall, FixedSmallLog, FixedLarge };
  TimestepSpacing spacing_;
  std::int64_t steps_offset_;
  bool clip_sample_;
  float clip_sample_range_;
  Variance variance_type_;
  std::vector<std::int64_t> timesteps_;
};

}  // namespace pawtrait::schedulers
