#include "schedulers/sigmas.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "schedulers/numpy_compat.h"

namespace pawtrait::schedulers {

std::vector<float> training_sigmas(const at::Tensor& alphas_cumprod) {
  // With tensor ops, not scalar ones: LibTorch's float sqrt is not always the correctly
  // rounded one (sqrt(16777215) gives 4096), and the reference computes exactly this.
  const at::Tensor sigmas = ((1 - alphas_cumprod) / alphas_cumprod).pow(0.5).contiguous();
  return {sigmas.data_ptr<float>(), sigmas.data_ptr<float>() + sigmas.numel()};
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, std::int64_t n) {
  constexpr double rho = 7.0;
  const double min_inv_rho = std::pow(sigma_min, 1.0 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1.0 / rho);
  std::vector<double> sigmas;
  for (double ramp : numpy_linspace(0.0, 1.0, n)) {
    sigmas.push_back(std::pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), rho));
  }
  return sigmas;
}

double sigma_to_timestep(double sigma, const std::vector<float>& log_sigmas) {
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  // The last training timestep whose log σ is at or below this one (0 if none), kept one
  // short of the end so that it has an upper neighbour.
  std::int64_t low_idx = 0;
  for (std::size_t i = 0; i < log_sigmas.size(); ++i) {
    if (log_sigma - static_cast<double>(log_sigmas[i]) >= 0) low_idx = static_cast<std::int64_t>(i);
  }
  low_idx = std::min<std::int64_t>(low_idx, static_cast<std::int64_t>(log_sigmas.size()) - 2);
  const std::int64_t high_idx = low_idx + 1;
  const float low = log_sigmas[static_cast<std::size_t>(low_idx)];
  const float high = log_sigmas[static_cast<std::size_t>(high_idx)];
  double w = (static_cast<double>(low) - log_sigma) / static_cast<double>(low - high);
  w = std::clamp(w, 0.0, 1.0);
  return (1.0 - w) * static_cast<double>(low_idx) + w * static_cast<double>(high_idx);
}

std::vector<float> log_of(const std::vector<float>& values) {
  std::vector<float> out(values.size());
  std::transform(values.begin(), values.end(), out.begin(), [](float v) { return std::log(v); });
  return out;
}

}  // namespace pawtrait::schedulers
