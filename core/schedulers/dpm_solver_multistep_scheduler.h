#pragma once

#include <optional>
#include <vector>

#include "schedulers/timestep_spacing.h"
#include "schedulers/vp_scheduler.h"

namespace pawtrait::schedulers {

// DPM-Solver++ (Lu et al. 2022, "DPM-Solver++", Algorithm 2: multistep, data prediction),
// order 1 or 2, midpoint or Heun second-order correction, optionally on Karras σ. The last
// step is first order when the final σ is 0 (and, for fewer than 15 steps, the last two),
// which is what keeps few-step sampling stable.
class DPMSolverMultistepScheduler : public VpScheduler {
 public:
  explicit DPMSolverMultistepScheduler(const SchedulerConfig& config);

  void set_timesteps(std::int64_t num_inference_steps) override;
  at::Tensor timesteps() const override;
  StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                  NoiseSource* noise) override;

  const std::vector<float>& sigmas() const { return sigmas_; }

 private:
  struct AlphaSigma {
    float alpha;
    float sigma;
    float lambda;  // log(α/σ), the half log-SNR
  };
  static AlphaSigma alpha_sigma(float sigma);
  std::int64_t step_index_for(double timestep);
  at::Tensor convert_model_output(const at::Tensor& model_output, const at::Tensor& sample, std::size_t i) const;
  at::Tensor first_order_update(const at::Tensor& x0_pred, const at::Tensor& sample, std::size_t i) const;
  at::Tensor second_order_update(const at::Tensor& sample, std::size_t i) const;

  TimestepSpacing spacing_;
  std::int64_t steps_offset_;
  int solver_order_;
  bool heun_;
  bool lower_order_final_;
  bool euler_at_final_;
  bool karras_;
  bool final_sigma_min_;
  bool cosine_schedule_;
  std::vector<float> training_sigmas_;
  std::vector<std::int64_t> timesteps_;
  std::vector<float> sigmas_;
  std::optional<std::int64_t> step_index_;
  std::vector<at::Tensor> model_outputs_;  // the last solver_order data predictions, oldest first
  int lower_order_nums_ = 0;
};

}  // namespace pawtrait::schedulers
