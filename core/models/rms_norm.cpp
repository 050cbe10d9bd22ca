#include "models/rms_norm.h"

#include <ATen/ATen.h>

namespace pawtrait::models {

RMSNormImpl::RMSNormImpl(std::int64_t dim, double eps) : eps(eps) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (h * at::rsqrt(variance + eps)).to(x.scalar_type());
}

}  // namespace pawtrait::models
