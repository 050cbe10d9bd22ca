#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>

namespace pawtrait::schedulers {

// How a flow-matching model's sampling σ are moved towards noise (FlowMatchEulerDiscreteScheduler's
// config): by the resolution-dependent μ when use_dynamic_shifting is on, else by the fixed shift.
struct FlowShift {
  bool use_dynamic_shifting = false;
  double shift = 1.0;
  std::string time_shift_type = "exponential";  // exponential | linear (the μ shift's form)
  std::int64_t num_train_timesteps = 1000;
};

// FLUX.2 [klein]'s empirical μ (Flux2KleinPipeline's compute_empirical_mu): a line in the step
// count fitted between 10 and 200 steps for `image_seq_len` image tokens, and above 4300 tokens
// the 200-step value whatever the steps.
double compute_empirical_mu(std::int64_t image_seq_len, std::int64_t steps);

// A sampling schedule: σ per step plus the final 0 (steps + 1 values) and the timesteps σ·T the
// transformer is given (steps values), float32 as the reference keeps them.
struct FlowSchedule {
  at::Tensor sigmas, timesteps;
};

// The klein pipeline's schedule: σ linearly from 1 to 1/steps (float64, then float32), shifted
// as `shift` says (with μ when dynamic: exp μ / (exp μ + (1/σ − 1)); otherwise
// shift·σ / (1 + (shift − 1)·σ)), in float32 arithmetic as the reference's NumPy does it.
// Throws pawtrait::Error for steps below 1, or dynamic shifting without μ.
FlowSchedule flow_match_schedule(std::int64_t steps, std::optional<double> mu, const FlowShift& shift);

// One Euler step of the flow ODE dx/dσ = v from σ to σ_next: x + (σ_next − σ)·v, computed in
// float32 and returned in the velocity's dtype (FlowMatchEulerDiscreteScheduler.step).
at::Tensor flow_euler_step(const at::Tensor& velocity, const at::Tensor& sample, const at::Tensor& sigma,
                           const at::Tensor& sigma_next);

}  // namespace pawtrait::schedulers
