#include "schedulers/flow_match_euler_scheduler.h"

#include <ATen/ATen.h>

#include <sstream>

#include "common/error.h"

namespace pawtrait::schedulers {

FlowMatchEulerScheduler::FlowMatchEulerScheduler(FlowShift shift, MuForSteps mu)
    : shift_(std::move(shift)), mu_(std::move(mu)) {}

void FlowMatchEulerScheduler::set_timesteps(std::int64_t num_inference_steps) {
  schedule_ = flow_match_schedule(num_inference_steps, mu_ ? mu_(num_inference_steps) : std::nullopt, shift_);
  step_index_.reset();
}

std::int64_t FlowMatchEulerScheduler::index_of(double timestep) const {
  if (!schedule_.timesteps.defined()) throw Error("the flow-matching sampler was used before set_timesteps");
  const auto t = static_cast<float>(timestep);
  const auto* values = schedule_.timesteps.data_ptr<float>();
  const std::int64_t n = schedule_.timesteps.numel();
  // As the reference's index_for_timestep: the first match, or the second when the value
  // repeats (so that a run started part way does not skip a σ).
  std::vector<std::int64_t> matches;
  for (std::int64_t i = 0; i < n; ++i) {
    if (values[i] == t) matches.push_back(i);
  }
  if (matches.empty()) {
    std::ostringstream message;
    message << "timestep " << timestep << " is not one of this run's flow-matching timesteps";
    throw Error(message.str());
  }
  return matches.size() > 1 ? matches[1] : matches[0];
}

StepOutput FlowMatchEulerScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                                         NoiseSource* /*noise*/) {
  if (!step_index_) step_index_ = index_of(timestep);
  const std::int64_t i = *step_index_;
  if (i + 1 >= schedule_.sigmas.numel()) throw Error("the flow-matching sampler was stepped past its last σ");
  StepOutput out;
  out.prev_sample = flow_euler_step(model_output, sample, schedule_.sigmas[i], schedule_.sigmas[i + 1]);
  ++*step_index_;
  return out;
}

at::Tensor FlowMatchEulerScheduler::add_noise(const at::Tensor& x0, const at::Tensor& noise,
                                              const at::Tensor& timesteps) const {
  const at::Tensor t = timesteps.to(at::kDouble).flatten().contiguous();
  std::vector<float> sigma;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    sigma.push_back(schedule_.sigmas[index_of(t[i].item<double>())].item<float>());
  }
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x0.dim()), 1);
  shape[0] = static_cast<std::int64_t>(sigma.size());
  const at::Tensor s = at::tensor(sigma, at::kFloat).view(shape).to(x0.options());
  return s * noise + (1.0 - s) * x0;
}

}  // namespace pawtrait::schedulers
