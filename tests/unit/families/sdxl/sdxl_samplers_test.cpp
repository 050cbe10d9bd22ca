// Every sampler on SDXL's own scheduler config (leading spacing, steps_offset 1, the keys the
// hub file carries for other schedulers) against ../shared/testdata/sdxl/reference/
// schedulers_sdxl.{json,safetensors}: timesteps, sigmas, init_noise_sigma for 1–50 steps and
// fake-model trajectories at 5 and 12 steps (the same bounds as the SD sampler references).
#include <ATen/ATen.h>

#include <fstream>

#include "common/json_file.h"
#include "schedulers/noise_source.h"
#include "schedulers/sampler_registry.h"
#include "schedulers/scheduler_config.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"
#include "unit/schedulers/sampler_test_support.h"

namespace pawtrait::schedulers {
namespace {

std::filesystem::path sdxl() { return pawtrait::testing::testdata() / "sdxl"; }

TEST(SdxlSamplers, GridsAndTrajectoriesMatchTheReference) {
  const SchedulerConfig config = SchedulerConfig::load(sdxl() / "sdxl-tiny" / "scheduler" / "scheduler_config.json");
  const nlohmann::json facts = read_json_file(sdxl() / "reference" / "schedulers_sdxl.json");
  const auto file = tensors::SafetensorsFile::open(sdxl() / "reference" / "schedulers_sdxl.safetensors");
  const at::Tensor x_base = file.tensor("x_base");
  int grids = 0;
  for (const auto& [name, sampler] : facts["samplers"].items()) {
    for (const auto& [n, expected] : sampler["N"].items()) {
      SCOPED_TRACE(name + " N=" + n);
      auto s = make_sampler(name, config);
      s->set_timesteps(std::stoll(n));
      EXPECT_EQ(testing::to_doubles(s->timesteps()), expected["timesteps"].get<std::vector<double>>());
      EXPECT_NEAR(s->init_noise_sigma(), expected["init_noise_sigma"].get<double>(),
                  1e-6 * std::max(1.0, expected["init_noise_sigma"].get<double>()));
      ++grids;
    }
    for (const std::int64_t steps : {5, 12}) {
      const std::string prefix = name + "/N" + std::to_string(steps);
      SCOPED_TRACE(prefix);
      auto s = make_sampler(name, config);
      std::unique_ptr<NoiseSource> noise;
      if (file.contains(prefix + "/noises")) {
        const at::Tensor draws = file.tensor(prefix + "/noises");
        std::vector<at::Tensor> each;
        for (std::int64_t i = 0; i < draws.size(0); ++i) each.push_back(draws[i]);
        noise = std::make_unique<RecordedNoise>(each);
      } else {
        noise = std::make_unique<GeneratorNoise>(4321);  // never drawn from
      }
      const auto run = testing::run_fake_model(*s, steps, x_base, noise.get());
      const at::Tensor expected = file.tensor(prefix + "/x_steps");
      for (std::int64_t i = 0; i < expected.size(0); ++i) {
        EXPECT_LT(testing::relative_error(run.x_steps[static_cast<std::size_t>(i)], expected[i]), 1e-5)
            << "after step " << i + 1;
      }
    }
  }
  EXPECT_EQ(grids, 6 * 7);
}

}  // namespace
}  // namespace pawtrait::schedulers
