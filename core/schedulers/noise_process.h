#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "schedulers/flow_match_sigmas.h"
#include "schedulers/noise_schedule.h"
#include "schedulers/sampler_registry.h"
#include "schedulers/scheduler_config.h"

namespace pawtrait::schedulers {

// How a model family turns clean latents into training examples: the forward process the
// trainer adds noise with, what the model learns to predict, and where training draws its
// timesteps. The trainers see only this, and the samplers of a family are made from it.
// Timesteps are in the model's own units: integer indices 0..T-1 for a discrete β schedule,
// σ·T for flow matching (what the transformer's timestep embedding is given).
class NoiseProcess {
 public:
  virtual ~NoiseProcess() = default;

  // One timestep per example of a batch of `batch`, drawn from `generator`.
  virtual at::Tensor sample_timesteps(std::int64_t batch, at::Generator& generator) const = 0;
  // x_t from x_0, the noise ε and t (each of shape (N, ...), t of shape (N)).
  virtual at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const = 0;
  // The regression target at (x_0, ε, t); the loss is ‖target − model(x_t, t)‖².
  virtual at::Tensor training_target(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const = 0;
  // Fixed timesteps spread over the process (at 10, 30, 50, 70 and 90 % of it), for a
  // validation loss that moves only with the model.
  virtual at::Tensor validation_timesteps() const = 0;
  // T: the most sampling steps a run may take.
  virtual std::int64_t num_train_timesteps() const = 0;
  // A fresh sampler of the registry on this process. Throws pawtrait::Error for a name the
  // registry does not know or a sampler this process cannot drive.
  virtual std::unique_ptr<Scheduler> make_sampler(const std::string& name, const SamplerOptions& options) const = 0;
};

// The discrete β schedule of DDPM and Stable Diffusion (NoiseSchedule): ε-, v- or
// x_0-prediction, t uniform over the T training timesteps as diffusers' DreamBooth scripts
// draw it.
class DiscreteNoiseProcess : public NoiseProcess {
 public:
  explicit DiscreteNoiseProcess(const SchedulerConfig& config) : config_(config), schedule_(config) {}
  const NoiseSchedule& schedule() const { return schedule_; }
  const SchedulerConfig& config() const { return config_; }

  at::Tensor sample_timesteps(std::int64_t batch, at::Generator& generator) const override;
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const override;
  at::Tensor training_target(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const override;
  at::Tensor validation_timesteps() const override;
  std::int64_t num_train_timesteps() const override { return schedule_.num_train_timesteps(); }
  // Every sampler of the registry, configured from the model's scheduler config.
  std::unique_ptr<Scheduler> make_sampler(const std::string& name, const SamplerOptions& options) const override;

 private:
  SchedulerConfig config_;
  NoiseSchedule schedule_;
};

// Rectified flow / flow matching (Lipman et al. 2023; Esser et al. 2024, the SD3 and FLUX
// training objective): σ ∈ [0, 1], x_t = (1 − σ) x_0 + σ ε, the model predicts the velocity
// ε − x_0, and the timestep is t = σ·T. Training σ are drawn uniformly or from a logit-normal
// (Esser et al. Eq. 19: σ = sigmoid(u), u ~ N(mean, std)), then shifted towards noise by
// `shift` as the model's scheduler shifts them: σ' = shift·σ / (1 + (shift − 1)·σ).
class FlowMatchingNoiseProcess : public NoiseProcess {
 public:
  struct Options {
    std::int64_t num_train_timesteps = 1000;
    double shift = 1.0;
    std::string timestep_distribution = "uniform";  // uniform | logit_normal
    double logit_mean = 0.0;
    double logit_std = 1.0;
    // Sampling: how the schedule is shifted, and μ for a picture of so many latent positions
    // and a run of so many steps (the family's rule, e.g. FLUX.2 [klein]'s compute_empirical_mu).
    FlowShift sampling_shift;
    std::function<double(std::int64_t image_tokens, std::int64_t steps)> mu;
  };
  // Throws pawtrait::Error for an unknown distribution or a shift or std that is not positive.
  explicit FlowMatchingNoiseProcess(Options options);
  const Options& options() const { return options_; }

  // σ of a timestep tensor (t / T), float32.
  at::Tensor sigmas(const at::Tensor& t) const;

  at::Tensor sample_timesteps(std::int64_t batch, at::Generator& generator) const override;
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const override;
  at::Tensor training_target(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const override;
  at::Tensor validation_timesteps() const override;
  std::int64_t num_train_timesteps() const override { return options_.num_train_timesteps; }
  // "euler", the flow Euler sampler (FlowMatchEulerScheduler); every other name of the
  // registry is refused as a sampler of discrete schedules.
  std::unique_ptr<Scheduler> make_sampler(const std::string& name, const SamplerOptions& options) const override;

 private:
  Options options_;
};

}  // namespace pawtrait::schedulers
