#include "training/loss_scaler.h"

#include <ATen/ATen.h>

namespace pawtrait::training {

bool DynamicLossScaler::unscale(const std::vector<at::Tensor>& params) const {
  bool finite = true;
  for (const auto& p : params) {
    at::Tensor grad = p.grad();
    if (!grad.defined()) continue;
    grad.mul_(1.0 / scale_);
    if (finite && !at::isfinite(grad).all().item<bool>()) finite = false;
  }
  return finite;
}

void DynamicLossScaler::update(bool finite) {
  if (!finite) {
    scale_ *= 0.5;
    good_steps_ = 0;
    return;
  }
  if (++good_steps_ >= growth_interval_) {
    scale_ *= 2.0;
    good_steps_ = 0;
  }
}

}  // namespace pawtrait::training
