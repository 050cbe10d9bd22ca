#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace pawtrait::schedulers {

// σ_t = sqrt((1 − ᾱ_t) / ᾱ_t): the noise level of x_t / sqrt(ᾱ_t), the variable that
// Euler and DPM-Solver integrate (Karras et al. 2022, Eq. 1 with s(t) = 1). float32, one per
// training timestep, ascending in t.
std::vector<float> training_sigmas(const at::Tensor& alphas_cumprod);

// Karras et al. 2022, Eq. 5 with ρ = 7: n noise levels from sigma_max down to sigma_min,
// evenly spaced in σ^(1/ρ). float64.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, std::int64_t n);

// The fractional timestep whose σ equals `sigma`, interpolating log σ linearly between the
// two neighbouring training timesteps (log_sigmas float32 as the reference keeps them).
double sigma_to_timestep(double sigma, const std::vector<float>& log_sigmas);

std::vector<float> log_of(const std::vector<float>& values);

}  // namespace pawtrait::schedulers
