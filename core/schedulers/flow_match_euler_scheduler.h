#pragma once

#include <functional>
#include <optional>

#include "schedulers/flow_match_sigmas.h"
#include "schedulers/scheduler.h"

namespace pawtrait::schedulers {

// FlowMatchEulerDiscreteScheduler as the FLUX.2 [klein] pipeline drives it: Euler steps of
// the flow ODE dx/dσ = v over flow_match_schedule's σ, the model given σ·T; no input
// scaling, unit initial noise. Keeps a step index found from the first timestep it is given.
class FlowMatchEulerScheduler : public Scheduler {
 public:
  // μ for a run of `steps` steps at this picture size; empty where the shift is fixed.
  using MuForSteps = std::function<std::optional<double>(std::int64_t steps)>;
  FlowMatchEulerScheduler(FlowShift shift, MuForSteps mu);

  void set_timesteps(std::int64_t num_inference_steps) override;
  at::Tensor timesteps() const override { return schedule_.timesteps; }  // float32, σ·T
  double init_noise_sigma() const override { return 1.0; }
  at::Tensor scale_model_input(const at::Tensor& sample, double) override { return sample; }
  StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                  NoiseSource* noise) override;
  // σ ε + (1 − σ) x_0 at each timestep's σ (the scheduler's scale_noise).
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& timesteps) const override;
  int order() const override { return 1; }

  const at::Tensor& sigmas() const { return schedule_.sigmas; }  // steps + 1, the last 0

 private:
  std::int64_t index_of(double timestep) const;

  FlowShift shift_;
  MuForSteps mu_;
  FlowSchedule schedule_;
  std::optional<std::int64_t> step_index_;
};

}  // namespace pawtrait::schedulers
