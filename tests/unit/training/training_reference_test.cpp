// Training steps against the reference (../shared/testdata/reference/train_ref.*): the tiny
// UNet fully fine-tuned for two AdamW steps on the ε loss, through the production optimizer
// step (TrainingLoop::step). This checks every backward pass through the modules, not only
// their forward.
#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "fixed_batch_task.h"
#include "models/component_loader.h"
#include "schedulers/noise_process.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::training {
namespace {

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() /
         std::max(1.0, b.abs().max().item<double>());
}

double total_grad_norm(torch::nn::Module& module) {
  double sum = 0;
  for (const auto& p : module.parameters()) {
    if (p.grad().defined()) sum += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

TEST(TrainingReference, FullUnetTwoAdamWSteps) {
  const auto ref = tensors::SafetensorsFile::open(testing::testdata() / "reference" / "train_ref.safetensors");
  nlohmann::json facts;
  std::ifstream(testing::testdata() / "reference" / "train_ref.json") >> facts;

  models::UNet2DConditionModel unet = models::load_unet(testing::testdata() / "sd-tiny" / "unet");
  unet->train();
  const schedulers::DiscreteNoiseProcess noise_process(schedulers::SchedulerConfig::stable_diffusion());

  // The batch: x_t from the closed form, the target ε.
  const at::Tensor timesteps = ref.tensor("timesteps").to(at::kLong);
  const at::Tensor noisy = noise_process.add_noise(ref.tensor("x0"), ref.tensor("noise"), timesteps);
  EXPECT_LT(relative_error(noisy, ref.tensor("noisy_latents")), 1e-6);
  const at::Tensor target = noise_process.training_target(ref.tensor("x0"), ref.tensor("noise"), timesteps);
  const at::Tensor ehs = ref.tensor("encoder_hidden_states");

  NamedParameters trained;
  for (const auto& item : unet->named_parameters()) trained.emplace_back(item.key(), item.value());
  at::Tensor first_pred;
  testing_support::FixedBatchTask task(trained, [&] {
    const at::Tensor pred = unet->forward(noisy, timesteps, ehs);
    if (!first_pred.defined()) first_pred = pred.detach().clone();
    return torch::nn::functional::mse_loss(pred.to(at::kFloat), target.to(at::kFloat));
  });
  // The reference's optimizer: AdamW, lr 1e-4 constant, weight decay 1e-2, no clipping.
  LoopSettings settings;
  settings.steps = 2;
  settings.learning_rate = 1e-4;
  settings.weight_decay = 1e-2;
  TrainingLoop loop(task, settings);
  const std::vector<std::string> tracked = facts["tracked_params"].get<std::vector<std::string>>();
  auto params = unet->named_parameters();
  for (const auto& name : tracked) {
    EXPECT_TRUE(at::equal(params[name], ref.tensor("param_before/" + name))) << name;
  }

  const double expected_loss[2] = {facts["loss_step1"], facts["loss_step2"]};
  const double expected_norm[2] = {facts["grad_norm_total_step1"], facts["grad_norm_total_step2"]};
  for (int step = 0; step < 2; ++step) {
    const StepOutcome outcome = loop.step(step + 1);
    if (step == 0) {
      EXPECT_LT(relative_error(first_pred, ref.tensor("model_pred")), 1e-5);
    }
    EXPECT_DOUBLE_EQ(outcome.lr, 1e-4);
    const double norm = total_grad_norm(*unet);  // the gradients of this step stay until the next
    std::cout << "[ measured ] step " << step + 1 << ": loss " << outcome.loss << " (reference " << expected_loss[step]
              << "), grad norm " << norm << " (reference " << expected_norm[step] << ")\n";
    // The testdata README's acceptance: loss 1e-6 relative, gradient norm 1e-5 relative.
    EXPECT_NEAR(outcome.loss, expected_loss[step], 1e-6 * expected_loss[step]);
    EXPECT_NEAR(norm, expected_norm[step], 1e-5 * expected_norm[step]);
    if (step == 0) {
      for (const auto& name : tracked) {
        EXPECT_LT(relative_error(params[name].grad(), ref.tensor("grad/" + name)), 1e-5) << name;
      }
    }
    double worst = 0;
    for (const auto& name : tracked) {
      const at::Tensor expected = ref.tensor("param_after_step" + std::to_string(step + 1) + "/" + name);
      const double e = (params[name].detach() - expected).abs().max().item<double>();
      worst = std::max(worst, e);
      EXPECT_LT(e, 5e-6) << name << " after step " << step + 1;
    }
    std::cout << "[ measured ] parameters after step " << step + 1 << ": max |diff| " << worst << "\n";
  }
  at::NoGradGuard no_grad;
  const double after = torch::nn::functional::mse_loss(unet->forward(noisy, timesteps, ehs), target).item<double>();
  EXPECT_NEAR(after, facts["loss_after_2_steps"].get<double>(), 1e-6);
}

}  // namespace
}  // namespace pawtrait::training
