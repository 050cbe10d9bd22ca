#include "schedulers/noise_process.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "schedulers/flow_match_euler_scheduler.h"

namespace pawtrait::schedulers {
namespace {

// 10, 30, 50, 70 and 90 % of the way through the process.
at::Tensor validation_fractions() { return at::tensor({0.1, 0.3, 0.5, 0.7, 0.9}, at::kDouble); }

// (N) → (N, 1, 1, ...) to broadcast over x's other dimensions.
at::Tensor per_example(const at::Tensor& v, const at::Tensor& x) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = v.size(0);
  return v.to(x.device(), x.scalar_type()).view(shape);
}

}  // namespace

at::Tensor DiscreteNoiseProcess::sample_timesteps(std::int64_t batch, at::Generator& generator) const {
  return at::randint(schedule_.num_train_timesteps(), {batch}, generator, at::kLong);
}

at::Tensor DiscreteNoiseProcess::add_noise(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& t) const {
  return schedule_.add_noise(x0, noise, t);
}

at::Tensor DiscreteNoiseProcess::training_target(const at::Tensor& x0, const at::Tensor& noise,
                                                 const at::Tensor& t) const {
  return schedule_.training_target(x0, noise, t);
}

at::Tensor DiscreteNoiseProcess::validation_timesteps() const {
  return (validation_fractions() * static_cast<double>(schedule_.num_train_timesteps())).to(at::kLong);
}

std::unique_ptr<Scheduler> DiscreteNoiseProcess::make_sampler(const std::string& name,
                                                              const SamplerOptions& options) const {
  return schedulers::make_sampler(name, config_, options);
}

std::unique_ptr<Scheduler> FlowMatchingNoiseProcess::make_sampler(const std::string& name,
                                                                  const SamplerOptions& sampler) const {
  sampler_info(name);  // an unknown name is named as such first
  if (name != "euler") {
    throw Error("the sampler " + name +
                " works on a discrete noise schedule; a flow-matching model samples with euler");
  }
  FlowMatchEulerScheduler::MuForSteps mu;
  if (options_.sampling_shift.use_dynamic_shifting) {
    if (!options_.mu || sampler.image_tokens <= 0) {
      throw Error("this model shifts its schedule by the picture size: the sampler needs the picture's token count");
    }
    mu = [rule = options_.mu, tokens = sampler.image_tokens](std::int64_t steps) -> std::optional<double> {
      return rule(tokens, steps);
    };
  }
  return std::make_unique<FlowMatchEulerScheduler>(options_.sampling_shift, std::move(mu));
}

FlowMatchingNoiseProcess::FlowMatchingNoiseProcess(Options options) : options_(std::move(options)) {
  if (options_.timestep_distribution != "uniform" && options_.timestep_distribution != "logit_normal") {
    throw Error("the timestep distribution must be uniform or logit_normal; got \"" + options_.timestep_distribution +
                "\"");
  }
  if (!(options_.shift > 0)) throw Error("the flow-matching shift must be above 0");
  if (!(options_.logit_std > 0)) throw Error("the logit-normal standard deviation must be above 0");
  if (options_.num_train_timesteps < 1) throw Error("num_train_timesteps must be at least 1");
}

at::Tensor FlowMatchingNoiseProcess::sigmas(const at::Tensor& t) const {
  return t.to(at::kFloat) / static_cast<double>(options_.num_train_timesteps);
}

at::Tensor FlowMatchingNoiseProcess::sample_timesteps(std::int64_t batch, at::Generator& generator) const {
  const auto T = static_cast<double>(options_.num_train_timesteps);
  at::Tensor sigma;
  if (options_.timestep_distribution == "uniform") {
    // The reference scripts' draw (weighting_scheme "none"): u ~ U[0, 1) picks entry floor(u·T)
    // of the training grid T, T−1, ..., 1 (whole numbers, exactly as the scheduler holds them).
    const at::Tensor t = T - (at::rand({batch}, generator, at::kFloat) * T).to(at::kLong).to(at::kFloat);
    if (options_.shift == 1.0) return t;
    sigma = t / T;
  } else {
    sigma = at::sigmoid(at::randn({batch}, generator, at::kFloat) * options_.logit_std + options_.logit_mean);
  }
  if (options_.shift != 1.0) sigma = options_.shift * sigma / (1 + (options_.shift - 1) * sigma);
  return sigma * T;
}

at::Tensor FlowMatchingNoiseProcess::add_noise(const at::Tensor& x0, const at::Tensor& noise,
                                               const at::Tensor& t) const {
  const at::Tensor sigma = per_example(sigmas(t), x0);
  return (1 - sigma) * x0 + sigma * noise;
}

at::Tensor FlowMatchingNoiseProcess::training_target(const at::Tensor& x0, const at::Tensor& noise,
                                                     const at::Tensor& /*t*/) const {
  return noise - x0;
}

at::Tensor FlowMatchingNoiseProcess::validation_timesteps() const {
  return (validation_fractions() * static_cast<double>(options_.num_train_timesteps)).to(at::kFloat);
}

}  // namespace pawtrait::schedulers
