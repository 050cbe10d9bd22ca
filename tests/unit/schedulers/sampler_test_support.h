#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::schedulers::testing {

using pawtrait::testing::testdata;

// The deterministic stand-in model of the reference runs: eps = 0.1 x_in + 0.05 + 1e-4 t.
inline at::Tensor fake_model(const at::Tensor& model_input, double t) { return 0.1 * model_input + 0.05 + 1e-4 * t; }

struct Trajectory {
  std::vector<at::Tensor> x_steps;
  std::vector<at::Tensor> pred_x0;
  at::Tensor final;
  std::vector<double> timesteps;
};

inline std::vector<double> to_doubles(const at::Tensor& t) {
  at::Tensor d = t.to(at::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// The reference loop: set_timesteps, x = x_base * init_noise_sigma, then one model call and
// one step per timestep.
inline Trajectory run_fake_model(Scheduler& s, std::int64_t steps, const at::Tensor& x_base, NoiseSource* noise) {
  s.set_timesteps(steps);
  Trajectory run;
  run.timesteps = to_doubles(s.timesteps());
  at::Tensor x = x_base * s.init_noise_sigma();
  for (double t : run.timesteps) {
    at::Tensor model_input = s.scale_model_input(x, t);
    StepOutput out = s.step(fake_model(model_input, t), t, x, noise);
    x = out.prev_sample;
    run.x_steps.push_back(x);
    run.pred_x0.push_back(out.pred_original_sample);
  }
  run.final = x;
  return run;
}

// max |a - b| relative to the reference's magnitude (at least 1), the measure the issue sets.
inline double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>() / scale;
}

inline const tensors::SafetensorsFile& shared_scheduler_reference() {
  static const tensors::SafetensorsFile file =
      tensors::SafetensorsFile::open(testdata() / "reference" / "schedulers.safetensors");
  return file;
}

}  // namespace pawtrait::schedulers::testing
