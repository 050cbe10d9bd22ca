#include "schedulers/sampler_registry.h"

#include "common/error.h"
#include "schedulers/ddim_scheduler.h"
#include "schedulers/ddpm_scheduler.h"
#include "schedulers/dpm_solver_multistep_scheduler.h"
#include "schedulers/euler_ancestral_scheduler.h"
#include "schedulers/euler_scheduler.h"

namespace pawtrait::schedulers {

const std::vector<SamplerInfo>& available_samplers() {
  static const std::vector<SamplerInfo> samplers = {
      {"ddpm", "DDPM", true},       {"ddim", "DDIM", false},         {"euler", "Euler", false},
      {"euler_a", "Euler a", true}, {"dpmpp_2m", "DPM++ 2M", false}, {"dpmpp_2m_karras", "DPM++ 2M Karras", false},
  };
  return samplers;
}

const SamplerInfo& sampler_info(const std::string& name) {
  for (const SamplerInfo& info : available_samplers()) {
    if (info.name == name) return info;
  }
  std::string names;
  for (const SamplerInfo& info : available_samplers()) names += (names.empty() ? "" : ", ") + info.name;
  throw Error("unknown sampler \"" + name + "\"; choose one of " + names);
}

std::unique_ptr<Scheduler> make_sampler(const std::string& name, const SchedulerConfig& config,
                                        const SamplerOptions& options) {
  sampler_info(name);  // validates the name
  SchedulerConfig c = config;
  if (name == "ddpm") return std::make_unique<DDPMScheduler>(c);
  if (name == "ddim") return std::make_unique<DDIMScheduler>(c, options.eta);
  if (name == "euler") {
    c.use_karras_sigmas = false;
    return std::make_unique<EulerScheduler>(c);
  }
  if (name == "euler_a") return std::make_unique<EulerAncestralScheduler>(c);
  // DPM++ 2M: the solver settings are the name's, whatever the config says.
  c.algorithm_type = "dpmsolver++";
  c.solver_order = 2;
  c.use_karras_sigmas = name == "dpmpp_2m_karras";
  return std::make_unique<DPMSolverMultistepScheduler>(c);
}

}  // namespace pawtrait::schedulers
