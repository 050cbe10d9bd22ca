#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "schedulers/noise_schedule.h"
#include "schedulers/noise_source.h"

namespace pawtrait::schedulers {

struct StepOutput {
  at::Tensor prev_sample;
  at::Tensor pred_original_sample;  // the predicted x_0 (undefined where a sampler has none)
};

// One sampling algorithm, diffusers' interface. A Scheduler holds the state of one run
// (timesteps, step index, a multistep solver's history): build a fresh one per job.
//
//   s.set_timesteps(n);
//   x = noise * s.init_noise_sigma();
//   for t in s.timesteps(): x = s.step(model(s.scale_model_input(x, t), t), t, x, &noise).prev_sample;
class Scheduler {
 public:
  virtual ~Scheduler() = default;

  virtual void set_timesteps(std::int64_t num_inference_steps) = 0;
  // In sampling order, on the CPU: int64 for DDPM, DDIM and DPM-Solver, float32 for the
  // Euler samplers, as the reference has them.
  virtual at::Tensor timesteps() const = 0;
  // How much the initial Gaussian noise is scaled by (1 for variance-preserving samplers,
  // the largest σ for the Euler samplers).
  virtual double init_noise_sigma() const = 0;
  virtual at::Tensor scale_model_input(const at::Tensor& sample, double timestep) = 0;
  // One step from x_t to x_{t-1}. `noise` serves ancestral samplers; deterministic ones
  // ignore it (it may be null for them).
  virtual StepOutput step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                          NoiseSource* noise) = 0;
  // Noises x_0 to the level of `timesteps` the way this sampler's inputs are scaled.
  virtual at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& timesteps) const = 0;
  // Model evaluations per step (1 for all samplers here; 2 for e.g. Heun).
  virtual int order() const = 0;
};

// The samplers on a discrete β schedule (DDPM, DDIM, DPM-Solver, the Euler samplers): the
// schedule comes from the model's scheduler config.
class DiscreteScheduler : public Scheduler {
 public:
  const NoiseSchedule& schedule() const { return schedule_; }

 protected:
  explicit DiscreteScheduler(const SchedulerConfig& config) : schedule_(config) {}
  NoiseSchedule schedule_;
};

}  // namespace pawtrait::schedulers
