#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace pawtrait::training {

// Dynamic loss scaling for float16 training (Micikevicius et al. 2018), as PyTorch's
// GradScaler does it: the loss is multiplied by `scale` before backward so that small
// gradients survive in float16; the gradients are divided back before the optimizer step; a
// step whose gradients overflowed is skipped and the scale halved; after `growth_interval`
// good steps in a row the scale doubles.
class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(double initial_scale = 65536.0, std::int64_t growth_interval = 2000)
      : scale_(initial_scale), growth_interval_(growth_interval) {}

  at::Tensor scale(const at::Tensor& loss) const { return loss * scale_; }
  // Divides the gradients by the scale; true when all are finite (the step may be taken).
  bool unscale(const std::vector<at::Tensor>& params) const;
  // After each optimizer step attempt.
  void update(bool finite);

  double current_scale() const { return scale_; }
  std::int64_t good_steps() const { return good_steps_; }
  void restore(double scale, std::int64_t good_steps) {
    scale_ = scale;
    good_steps_ = good_steps;
  }

 private:
  double scale_;
  std::int64_t growth_interval_;
  std::int64_t good_steps_ = 0;
};

}  // namespace pawtrait::training
