#include "schedulers/flow_match_sigmas.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"
#include "schedulers/numpy_compat.h"

namespace pawtrait::schedulers {

double compute_empirical_mu(std::int64_t image_seq_len, std::int64_t steps) {
  // The reference's fitted constants: μ at 10 steps (a1, b1) and at 200 steps (a2, b2) as lines
  // in the token count.
  const double a1 = 8.73809524e-05, b1 = 1.89833333;
  const double a2 = 0.00016927, b2 = 0.45666666;
  const double length = static_cast<double>(image_seq_len);
  if (image_seq_len > 4300) return a2 * length + b2;
  const double m_200 = a2 * length + b2;
  const double m_10 = a1 * length + b1;
  const double a = (m_200 - m_10) / 190.0;
  const double b = m_200 - 200.0 * a;
  return a * static_cast<double>(steps) + b;
}

FlowSchedule flow_match_schedule(std::int64_t steps, std::optional<double> mu, const FlowShift& shift) {
  if (steps < 1) throw Error("a flow-matching schedule needs at least 1 step; got " + std::to_string(steps));
  if (shift.use_dynamic_shifting && !mu) {
    throw Error(
        "this model's scheduler shifts its schedule by the picture size (use_dynamic_shifting), so μ is needed");
  }
  at::Tensor s = at::tensor(numpy_linspace(1.0, 1.0 / static_cast<double>(steps), steps), at::kDouble).to(at::kFloat);
  // The reference's Python floats meet float32 arrays as NumPy 2's weak scalars: every
  // operation below is one float32 operation, each rounded once (a scalar divided by a tensor
  // is written as a tensor division: ATen would multiply by a reciprocal, rounding twice).
  if (shift.use_dynamic_shifting) {
    const at::Tensor inverse_minus_one = at::reciprocal(s) - 1.0f;
    const bool linear_shift = shift.time_shift_type == "linear";
    if (!linear_shift && shift.time_shift_type != "exponential") {
      throw Error("unknown time_shift_type \"" + shift.time_shift_type + "\" (exponential or linear)");
    }
    const at::Tensor m = at::full_like(s, static_cast<float>(linear_shift ? *mu : std::exp(*mu)));
    s = m / (m + inverse_minus_one);
  } else {
    const auto k = static_cast<float>(shift.shift);
    s = k * s / (1.0f + (k - 1.0f) * s);
  }
  FlowSchedule out;
  out.timesteps = s * static_cast<float>(shift.num_train_timesteps);
  out.sigmas = at::cat({s, at::zeros({1}, at::kFloat)});
  return out;
}

at::Tensor flow_euler_step(const at::Tensor& velocity, const at::Tensor& sample, const at::Tensor& sigma,
                           const at::Tensor& sigma_next) {
  const at::Tensor dt = sigma_next.to(at::kFloat) - sigma.to(at::kFloat);
  return (sample.to(at::kFloat) + dt * velocity).to(velocity.scalar_type());
}

}  // namespace pawtrait::schedulers
