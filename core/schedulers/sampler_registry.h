#pragma once

#include <memory>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"

namespace pawtrait::schedulers {

struct SamplerInfo {
  std::string name;   // what the CLI and the saved settings use: "dpmpp_2m_karras"
  std::string label;  // what people see, as Automatic1111 names it: "DPM++ 2M Karras"
  bool stochastic;    // draws fresh noise at each step
};

const std::vector<SamplerInfo>& available_samplers();
const SamplerInfo& sampler_info(const std::string& name);  // throws for unknown names

struct SamplerOptions {
  double eta = 0.0;  // DDIM only
  // Flow matching: the picture's latent positions (h·w of the latents the sampler steps), on
  // which a size-dependent shift of the schedule depends.
  std::int64_t image_tokens = 0;
};

// A fresh sampler for one run, configured from the model's scheduler config the way
// diffusers' from_config swaps schedulers: keys the sampler knows are used, the rest take
// its defaults; the name fixes what it promises (dpmpp_2m is never Karras, and so on).
// Throws pawtrait::Error listing the valid names for an unknown one.
std::unique_ptr<Scheduler> make_sampler(const std::string& name, const SchedulerConfig& config,
                                        const SamplerOptions& options = {});

}  // namespace pawtrait::schedulers
