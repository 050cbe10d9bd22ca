#include "models/weight_init.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace pawtrait::models {
namespace {

thread_local bool skip_init = false;
thread_local std::optional<at::Generator> init_generator;

}  // namespace

SkipWeightInit::SkipWeightInit() : previous_(skip_init) { skip_init = true; }
SkipWeightInit::~SkipWeightInit() { skip_init = previous_; }

bool weight_init_skipped() { return skip_init; }

SeededWeightInit::SeededWeightInit(std::uint64_t seed) : previous_(init_generator) {
  init_generator = at::make_generator<at::CPUGeneratorImpl>(seed);
}
SeededWeightInit::~SeededWeightInit() { init_generator = previous_; }

std::optional<at::Generator> weight_init_generator() { return init_generator; }

void init_like_pytorch(at::Tensor& weight, at::Tensor& bias) {
  if (skip_init) return;
  // The same draws, in the same order and with the same bounds, as torch::nn::Linear/Conv2d's
  // reset_parameters() (kaiming_uniform_ with a = √5: gain √(2/(1+a²)), bound √3·gain/√fan_in),
  // so a seeded model comes out as LibTorch's own layers would make it.
  at::NoGradGuard no_grad;
  const double fan_in = static_cast<double>(weight.numel() / weight.size(0));
  const double a = std::sqrt(5.0);
  const double gain = std::sqrt(2.0 / (1 + std::pow(a, 2)));  // LibTorch's calculate_gain, to the last bit
  const double weight_bound = std::sqrt(3.0) * (gain / std::sqrt(fan_in));
  weight.uniform_(-weight_bound, weight_bound, init_generator);
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(fan_in);
    bias.uniform_(-bound, bound, init_generator);
  }
}

}  // namespace pawtrait::models
