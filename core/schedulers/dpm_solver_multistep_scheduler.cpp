#include "schedulers/dpm_solver_multistep_scheduler.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"
#include "schedulers/numpy_compat.h"
#include "schedulers/sigmas.h"

namespace pawtrait::schedulers {

DPMSolverMultistepScheduler::DPMSolverMultistepScheduler(const SchedulerConfig& config)
    : VpScheduler(config),
      spacing_(parse_timestep_spacing(config.timestep_spacing.value_or("linspace"))),
      steps_offset_(config.steps_offset.value_or(0)),
      solver_order_(static_cast<int>(config.solver_order.value_or(2))),
      heun_(config.solver_type.value_or("midpoint") == "heun"),
      lower_order_final_(config.lower_order_final.value_or(true)),
      euler_at_final_(config.euler_at_final.value_or(false)),
      karras_(config.use_karras_sigmas.value_or(false)),
      final_sigma_min_(config.final_sigmas_type.value_or("zero") == "sigma_min"),
      cosine_schedule_(config.beta_schedule.value_or("linear") == "squaredcos_cap_v2") {
  if (config.algorithm_type.value_or("dpmsolver++") != "dpmsolver++") {
    throw Error("DPM-Solver: only algorithm_type dpmsolver++ is supported");
  }
  at::Tensor alphas_cumprod = schedule_.alphas_cumprod().clone();
  if (config.rescale_betas_zero_snr.value_or(false)) alphas_cumprod[-1] = std::pow(2.0, -24);
  training_sigmas_ = training_sigmas(alphas_cumprod);
  model_outputs_.resize(static_cast<std::size_t>(solver_order_));
}

void DPMSolverMultistepScheduler::set_timesteps(std::int64_t num_inference_steps) {
  timesteps_ = dpm_timesteps(spacing_, schedule_.num_train_timesteps(), num_inference_steps, steps_offset_);
  std::vector<double> sigmas;
  if (karras_) {
    // σ from σ_max to σ_min of the whole training range; the timesteps are the nearest ones.
    sigmas = karras_sigmas(training_sigmas_.front(), training_sigmas_.back(), num_inference_steps);
    const std::vector<float> log_sigmas = log_of(training_sigmas_);
    timesteps_.clear();
    for (double s : sigmas) {
      const double t = sigma_to_timestep(s, log_sigmas);
      timesteps_.push_back(static_cast<std::int64_t>(cosine_schedule_ ? t : numpy_round(t)));
    }
  } else {
    for (std::int64_t t : timesteps_) sigmas.push_back(numpy_interp(static_cast<double>(t), training_sigmas_));
  }
  sigmas_.clear();
  for (double s : sigmas) sigmas_.push_back(static_cast<float>(s));
  sigmas_.push_back(final_sigma_min_ ? training_sigmas_.front() : 0.0f);

  model_outputs_.assign(static_cast<std::size_t>(solver_order_), at::Tensor());
  lower_order_nums_ = 0;
  step_index_.reset();
}

at::Tensor DPMSolverMultistepScheduler::timesteps() const { return at::tensor(timesteps_, at::kLong); }

DPMSolverMultistepScheduler::AlphaSigma DPMSolverMultistepScheduler::alpha_sigma(float sigma) {
  const float alpha_t = 1.0f / std::sqrt(sigma * sigma + 1.0f);
  const float sigma_t = sigma * alpha_t;
  return {alpha_t, sigma_t, std::log(alpha_t) - std::log(sigma_t)};
}

std::int64_t DPMSolverMultistepScheduler::step_index_for(double timestep) {
  if (!step_index_) {
    std::vector<std::int64_t> matches;
    for (std::size_t i = 0; i < timesteps_.size(); ++i) {
      if (static_cast<double>(timesteps_[i]) == timestep) matches.push_back(static_cast<std::int64_t>(i));
    }
    // Not found: the last step; repeated (Karras can repeat a timestep): the second one.
    step_index_ = matches.empty() ? static_cast<std::int64_t>(timesteps_.size()) - 1
                                  : (matches.size() > 1 ? matches[1] : matches[0]);
  }
  if (*step_index_ >= static_cast<std::int64_t>(timesteps_.size())) {
    throw Error("the sampler has already taken all " + std::to_string(timesteps_.size()) + " steps");
  }
  return *step_index_;
}

at::Tensor DPMSolverMultistepScheduler::convert_model_output(const at::Tensor& model_output, const at::Tensor& sample,
                                                             std::size_t i) const {
  // DPM-Solver++ works with the data prediction x̂_0.
  const AlphaSigma s = alpha_sigma(sigmas_[i]);
  switch (schedule_.prediction_type()) {
    case PredictionType::Epsilon:
      return (sample - s.sigma * model_output) / s.alpha;
    case PredictionType::Sample:
      return model_output;
    case PredictionType::VPrediction:
      return s.alpha * sample - s.sigma * model_output;
  }
  return model_output;
}

at::Tensor DPMSolverMultistepScheduler::first_order_update(const at::Tensor& x0_pred, const at::Tensor& sample,
                                                           std::size_t i) const {
  // DPM-Solver++(1) = DDIM: x_t = (σ_t/σ_s) x_s − α_t (e^{−h} − 1) x̂_0, h = λ_t − λ_s.
  const AlphaSigma t = alpha_sigma(sigmas_[i + 1]);
  const AlphaSigma s = alpha_sigma(sigmas_[i]);
  const float h = t.lambda - s.lambda;
  return (t.sigma / s.sigma) * sample - (t.alpha * (std::exp(-h) - 1.0f)) * x0_pred;
}

at::Tensor DPMSolverMultistepScheduler::second_order_update(const at::Tensor& sample, std::size_t i) const {
  const AlphaSigma t = alpha_sigma(sigmas_[i + 1]);
  const AlphaSigma s0 = alpha_sigma(sigmas_[i]);
  const AlphaSigma s1 = alpha_sigma(sigmas_[i - 1]);
  const at::Tensor& m0 = model_outputs_[model_outputs_.size() - 1];
  const at::Tensor& m1 = model_outputs_[model_outputs_.size() - 2];
  const float h = t.lambda - s0.lambda;
  const float h_0 = s0.lambda - s1.lambda;
  const float r0 = h_0 / h;
  // D1 approximates the derivative of x̂_0 in λ by a backward difference (Algorithm 2).
  const at::Tensor& d0 = m0;
  const at::Tensor d1 = (1.0f / r0) * (m0 - m1);
  const float phi = t.alpha * (std::exp(-h) - 1.0f);
  if (heun_) {
    return (t.sigma / s0.sigma) * sample - phi * d0 + (t.alpha * ((std::exp(-h) - 1.0f) / h + 1.0f)) * d1;
  }
  return (t.sigma / s0.sigma) * sample - phi * d0 - 0.5f * phi * d1;
}

StepOutput DPMSolverMultistepScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample,
                                             NoiseSource*) {
  if (timesteps_.empty()) throw Error("DPM-Solver: call set_timesteps before step");
  const auto i = static_cast<std::size_t>(step_index_for(timestep));
  const std::size_t n = timesteps_.size();
  const bool lower_order_final = i == n - 1 && (euler_at_final_ || (lower_order_final_ && n < 15) || !final_sigma_min_);

  at::Tensor x0_pred = convert_model_output(model_output, sample, i);
  for (std::size_t k = 0; k + 1 < model_outputs_.size(); ++k) model_outputs_[k] = model_outputs_[k + 1];
  model_outputs_.back() = x0_pred;

  const at::Tensor x = sample.to(at::kFloat);
  at::Tensor prev_sample;
  if (solver_order_ == 1 || lower_order_nums_ < 1 || lower_order_final) {
    prev_sample = first_order_update(x0_pred, x, i);
  } else {
    prev_sample = second_order_update(x, i);
  }
  if (lower_order_nums_ < solver_order_) ++lower_order_nums_;
  ++*step_index_;
  return {prev_sample.to(model_output.scalar_type()), x0_pred};
}

}  // namespace pawtrait::schedulers
