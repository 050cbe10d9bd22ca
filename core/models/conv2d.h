#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace pawtrait::models {

// A square-kernel 2-D convolution with PyTorch's parameter names ("weight" [out, in, k, k],
// "bias" [out]) and initialisation, skipped under SkipWeightInit (LibTorch's own Conv2d always
// initialises).
struct Conv2dImpl : torch::nn::Module {
  Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
             std::int64_t padding = 0);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias;
  std::int64_t stride, padding;
};
TORCH_MODULE(Conv2d);

}  // namespace pawtrait::models
