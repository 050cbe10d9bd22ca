// LoRA training against diffusers' own DreamBooth LoRA script (../shared/testdata/reference/
// lora_train_ref.*): rank-4 adapters on to_q/to_k/to_v/to_out.0 of the tiny UNet, started from
// the reference's initial values, three AdamW steps with gradient clipping at 1.0, through
// the production optimizer step (TrainingLoop::step).
#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "fixed_batch_task.h"
#include "models/component_loader.h"
#include "models/lora_linear.h"
#include "schedulers/noise_process.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::training {
namespace {

TEST(LoraTrainingReference, ThreeStepsMatchTheReferenceScript) {
  const auto ref = tensors::SafetensorsFile::open(testing::testdata() / "reference" / "lora_train_ref.safetensors");
  nlohmann::json facts;
  std::ifstream(testing::testdata() / "reference" / "lora_train_ref.json") >> facts;

  models::UNet2DConditionModel unet = models::load_unet(testing::testdata() / "sd-tiny" / "unet");
  for (auto& p : unet->parameters()) p.set_requires_grad(false);
  std::vector<at::Tensor> lora = models::add_lora_adapters(*unet, models::kDefaultLoraTargets, /*rank=*/4,
                                                           /*alpha=*/4, models::LoraInit::Gaussian);
  ASSERT_EQ(lora.size(), 96u);
  std::int64_t count = 0;
  for (const auto& p : lora) count += p.numel();
  EXPECT_EQ(count, facts["num_lora_params"].get<std::int64_t>());

  // The reference's initial adapters.
  const NamedParameters trained = testing_support::reference_adapters(*unet, ref);
  ASSERT_EQ(trained.size(), 96u);
  auto params = unet->named_parameters();
  std::vector<std::string> names;
  for (const auto& [name, p] : trained) names.push_back(name);

  const schedulers::DiscreteNoiseProcess noise_process(schedulers::SchedulerConfig::stable_diffusion());
  const at::Tensor timesteps = ref.tensor("timesteps").to(at::kLong);
  const at::Tensor noisy = noise_process.add_noise(ref.tensor("x0"), ref.tensor("noise"), timesteps);
  const at::Tensor target = noise_process.training_target(ref.tensor("x0"), ref.tensor("noise"), timesteps);
  EXPECT_TRUE(at::equal(target, ref.tensor("noise")));  // ε-prediction
  const at::Tensor ehs = ref.tensor("encoder_hidden_states");

  testing_support::FixedBatchTask task(
      trained, [&] { return torch::nn::functional::mse_loss(unet->forward(noisy, timesteps, ehs), target); });
  // The reference script's optimizer: AdamW, lr 1e-4 constant, weight decay 1e-2, clipping at 1.
  LoopSettings settings;
  settings.steps = 3;
  settings.learning_rate = 1e-4;
  settings.weight_decay = 1e-2;
  settings.max_grad_norm = 1.0;
  unet->train();
  TrainingLoop loop(task, settings);
  const auto losses = facts["losses"].get<std::vector<double>>();
  const auto norms = facts["grad_norm_preclip"].get<std::vector<double>>();
  for (int step = 0; step < 3; ++step) {
    const StepOutcome outcome = loop.step(step + 1);
    const double norm = outcome.grad_norm;
    EXPECT_NEAR(outcome.loss, losses[step], 1e-6 * losses[step]) << "step " << step + 1;
    EXPECT_NEAR(norm, norms[step], 1e-5 * norms[step]) << "step " << step + 1;
    double worst = 0;
    for (const auto& name : names) {
      const at::Tensor expected = ref.tensor("lora_after_step" + std::to_string(step + 1) + "/" + name);
      worst = std::max(worst, (params[name].detach() - expected).abs().max().item<double>());
    }
    std::cout << "[ measured ] step " << step + 1 << ": loss " << outcome.loss << ", pre-clip grad norm " << norm
              << ", LoRA parameters max |diff| " << worst << "\n";
    EXPECT_LT(worst, 5e-6) << "after step " << step + 1;
  }
}

TEST(LoraTrainingReference, UntrainedAdapterIsAnExactNoOp) {
  at::NoGradGuard no_grad;
  models::UNet2DConditionModel unet = models::load_unet(testing::testdata() / "sd-tiny" / "unet");
  const auto ref = tensors::SafetensorsFile::open(testing::testdata() / "reference" / "unet_io.safetensors");
  const at::Tensor x = ref.tensor("t10.sample"), t = ref.tensor("t10.timestep").to(at::kLong);
  const at::Tensor ehs = ref.tensor("t10.encoder_hidden_states");
  const at::Tensor before = unet->forward(x, t, ehs);
  models::add_lora_adapters(*unet, models::kDefaultLoraTargets, 16, 16, models::LoraInit::Kaiming);
  EXPECT_TRUE(at::equal(unet->forward(x, t, ehs), before));
}

}  // namespace
}  // namespace pawtrait::training
