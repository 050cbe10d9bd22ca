#include "schedulers/sigma_scheduler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "schedulers/numpy_compat.h"
#include "schedulers/sigmas.h"

namespace pawtrait::schedulers {

SigmaScheduler::SigmaScheduler(const SchedulerConfig& config, const std::string& default_spacing)
    : DiscreteScheduler(config),
      spacing_(parse_timestep_spacing(config.timestep_spacing.value_or(default_spacing))),
      steps_offset_(config.steps_offset.value_or(0)) {
  at::Tensor alphas_cumprod = schedule_.alphas_cumprod().clone();
  // With zero terminal SNR σ_T would be infinite; the reference pins ᾱ_T to 2^-24 instead.
  if (config.rescale_betas_zero_snr.value_or(false)) alphas_cumprod[-1] = std::pow(2.0, -24);
  training_sigmas_ = training_sigmas(alphas_cumprod);
  // Until set_timesteps: every training timestep.
  const std::int64_t n = schedule_.num_train_timesteps();
  for (std::int64_t t = n - 1; t >= 0; --t) timesteps_.push_back(static_cast<float>(t));
  sigmas_.assign(training_sigmas_.rbegin(), training_sigmas_.rend());
  sigmas_.push_back(0.0f);
}

void SigmaScheduler::set_sigmas(std::int64_t steps, bool karras, bool final_sigma_min) {
  timesteps_ = euler_timesteps(spacing_, schedule_.num_train_timesteps(), steps, steps_offset_);
  std::vector<double> sigmas;
  for (float t : timesteps_) sigmas.push_back(numpy_interp(t, training_sigmas_));
  if (karras) {
    sigmas = karras_sigmas(sigmas.back(), sigmas.front(), steps);
    // The Karras grid has exactly `steps` levels, even where the spacing gave one more.
    const std::vector<float> log_sigmas = log_of(training_sigmas_);
    timesteps_.clear();
    for (double sigma : sigmas) timesteps_.push_back(static_cast<float>(sigma_to_timestep(sigma, log_sigmas)));
  }
  sigmas_.clear();
  for (double s : sigmas) sigmas_.push_back(static_cast<float>(s));
  sigmas_.push_back(final_sigma_min ? training_sigmas_.front() : 0.0f);
  step_index_.reset();
}

at::Tensor SigmaScheduler::timesteps() const { return at::tensor(timesteps_, at::kFloat); }

double SigmaScheduler::init_noise_sigma() const {
  const float max_sigma = *std::max_element(sigmas_.begin(), sigmas_.end());
  if (spacing_ == TimestepSpacing::Leading) return std::sqrt(max_sigma * max_sigma + 1.0f);
  return max_sigma;
}

std::int64_t SigmaScheduler::step_index_for(double timestep) {
  if (!step_index_) {
    // The first matching timestep, or the second when it appears twice (Karras schedules can
    // repeat one), so that a run started mid-way does not skip a σ.
    std::vector<std::int64_t> matches;
    for (std::size_t i = 0; i < timesteps_.size(); ++i) {
      if (timesteps_[i] == static_cast<float>(timestep)) matches.push_back(static_cast<std::int64_t>(i));
    }
    if (matches.empty()) throw Error("timestep " + std::to_string(timestep) + " is not in this run's schedule");
    step_index_ = matches.size() > 1 ? matches[1] : matches[0];
  }
  if (*step_index_ >= static_cast<std::int64_t>(timesteps_.size())) {
    throw Error("the sampler has already taken all " + std::to_string(timesteps_.size()) + " steps");
  }
  return *step_index_;
}

at::Tensor SigmaScheduler::scale_model_input(const at::Tensor& sample, double timestep) {
  const float sigma = sigmas_[static_cast<std::size_t>(step_index_for(timestep))];
  return sample / std::sqrt(sigma * sigma + 1.0f);
}

at::Tensor SigmaScheduler::predict_original(const at::Tensor& model_output, const at::Tensor& sample, float sigma_hat,
                                            float sigma) const {
  switch (schedule_.prediction_type()) {
    case PredictionType::Epsilon:
      return sample - sigma_hat * model_output;
    case PredictionType::VPrediction:
      return model_output * (-sigma / std::sqrt(sigma * sigma + 1.0f)) + (sample / (sigma * sigma + 1.0f));
    case PredictionType::Sample:
      return model_output;
  }
  return model_output;
}

at::Tensor SigmaScheduler::add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const {
  const at::Tensor wanted = t.to(at::kFloat).flatten().cpu().contiguous();
  std::vector<float> picked;
  for (std::int64_t i = 0; i < wanted.numel(); ++i) {
    const float value = wanted[i].item<float>();
    auto it = std::find(timesteps_.begin(), timesteps_.end(), value);
    if (it == timesteps_.end()) throw Error("timestep " + std::to_string(value) + " is not in this run's schedule");
    picked.push_back(sigmas_[static_cast<std::size_t>(it - timesteps_.begin())]);
  }
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x0.dim()), 1);
  shape[0] = static_cast<std::int64_t>(picked.size());
  const at::Tensor sigma = at::tensor(picked, at::kFloat).to(x0.device(), x0.scalar_type()).view(shape);
  return x0 + noise * sigma;
}

}  // namespace pawtrait::schedulers
