#pragma once

#include "schedulers/scheduler.h"

namespace pawtrait::schedulers {

// Samplers that work on x_t itself (DDPM, DDIM, DPM-Solver): the model sees x_t unscaled,
// the initial noise is N(0, I), and noising x_0 is the forward process's closed form.
class VpScheduler : public DiscreteScheduler {
 public:
  double init_noise_sigma() const override { return 1.0; }
  at::Tensor scale_model_input(const at::Tensor& sample, double) override { return sample; }
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const override {
    return schedule_.add_noise(x0, noise, t);
  }
  int order() const override { return 1; }

 protected:
  using DiscreteScheduler::DiscreteScheduler;
};

}  // namespace pawtrait::schedulers
