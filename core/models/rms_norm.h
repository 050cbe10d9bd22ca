#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace pawtrait::models {

// RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + eps), computed in float32 and cast back,
// times a learned per-channel "weight" -- Qwen3RMSNorm's and diffusers' RMSNorm's arithmetic
// for weights in the input's dtype.
struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(std::int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

}  // namespace pawtrait::models
