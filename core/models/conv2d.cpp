#include "models/conv2d.h"

#include <ATen/ATen.h>

#include "models/weight_init.h"

namespace pawtrait::models {

Conv2dImpl::Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride,
                       std::int64_t padding)
    : stride(stride), padding(padding) {
  weight = register_parameter("weight", at::empty({out_channels, in_channels, kernel, kernel}));
  bias = register_parameter("bias", at::empty({out_channels}));
  init_like_pytorch(weight, bias);
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) { return at::conv2d(x, weight, bias, stride, padding); }

}  // namespace pawtrait::models
