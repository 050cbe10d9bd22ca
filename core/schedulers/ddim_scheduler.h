#pragma once

#include <vector>

#include "schedulers/timestep_spacing.h"
#include "schedulers/vp_scheduler.h"

namespace pawtrait::schedulers {

// DDIM (Song et al. 2021, Eq. 12): a non-Markovian process with the same marginals as DDPM.
// η = 0 is deterministic; η = 1 has DDPM's posterior variance between the chosen timesteps.
class DDIMScheduler : public VpScheduler {
 public:
  explicit DDIMScheduler(const SchedulerConfig& config, double eta = 0.0);

  void set_timesteps(std::int64_t num_inference_steps) override;
  at::Tensor timesteps() const override;
  StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                  NoiseSource* noise) override;

  double eta() const { return eta_; }

 private:
  TimestepSpacing spacing_;
  std::int64_t steps_offset_;
  bool clip_sample_;
  float clip_sample_range_;
  float final_alpha_cumprod_;
  double eta_;
  std::int64_t num_inference_steps_ = 0;
  std::vector<std::int64_t> timesteps_;
};

}  // namespace pawtrait::schedulers
