#include "models/weight_init.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

namespace pawtrait::models {
namespace {

thread_local bool skip_init = false;

}  // namespace

SkipWeightInit::SkipWeightInit() : previous_(skip_init) { skip_init = true; }
SkipWeightInit::~SkipWeightInit() { skip_init = previous_; }

bool weight_init_skipped() { return skip_init; }

void init_like_pytorch(at::Tensor& weight, at::Tensor& bias) {
  if (skip_init) return;
  // The same calls, in the same order, as torch::nn::Linear/Conv2d's reset_parameters(), so
  // a seeded model comes out as LibTorch's own layers would make it.
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double fan_in = static_cast<double>(weight.numel() / weight.size(0));
    const double bound = 1.0 / std::sqrt(fan_in);
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

}  // namespace pawtrait::models
