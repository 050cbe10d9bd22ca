// SDXL DreamBooth-LoRA training against diffusers' train_dreambooth_lora_sdxl.py
// (../shared/testdata/sdxl/reference/train_ref.*): the batch it builds (the VAE's posterior of
// the two crops, both text encoders' embeddings, per-photo size ids) and two AdamW steps of
// rank-4 adapters on the UNet's attention projections through the production optimizer step
// (TrainingLoop::step), from the reference's initial adapters.
#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "families/sdxl/sdxl_model.h"
#include "fixed_batch_task.h"
#include "models/lora_linear.h"
#include "schedulers/noise_process.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

fs::path sdxl() { return testing::testdata() / "sdxl"; }

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// The batch: the README's module bounds (1e-5; the VAE's posterior mean and log-variance spread
// 1e-6 and 7.4e-7 float32 vs float64, the encoders' 9.9e-7).
TEST(SdxlLoraTrainingReference, TheBatchIsTheScriptsBatch) {
  at::NoGradGuard no_grad;
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "train_ref.safetensors");
  families::StableDiffusionXLModel model(families::load_sdxl(sdxl() / "sdxl-tiny", {}));
  const auto posterior = model.modules().vae->encode(ref.tensor("batch.pixel_values"));
  EXPECT_LT(max_abs(posterior.mean, ref.tensor("batch.posterior_mean")), 1e-5);
  EXPECT_LT(max_abs(posterior.std, ref.tensor("batch.posterior_std")), 1e-5);
  const at::Tensor model_input = (posterior.mean + posterior.std * ref.tensor("batch.posterior_sample_noise")) *
                                 model.latent_format().scaling_factor;
  EXPECT_LT(max_abs(model_input, ref.tensor("batch.model_input")), 1e-5);

  const families::Conditioning prompt = model.encode("a photo of sks dog", {}, {});
  EXPECT_LT(max_abs(prompt.at("context"), ref.tensor("batch.prompt_embeds")), 1e-5);
  EXPECT_LT(max_abs(prompt.at("pooled"), ref.tensor("batch.pooled_prompt_embeds")), 1e-5);

  // The size ids of each photo: chelsea.png is 451 × 300, resized to 96 × 64 and cropped at
  // (0, 16) (centre) and (0, 5) (flipped, then a random crop the script does not mirror).
  families::Conditioning ids[2];
  const std::array<std::int64_t, 2> crops[2] = {{0, 16}, {0, 5}};
  for (int i = 0; i < 2; ++i) {
    model.condition_on_size(ids[i], {.original_size = {{300, 451}}, .crop_top_left = crops[i]}, 64, 64);
  }
  EXPECT_TRUE(at::equal(at::cat({ids[0].at("time_ids"), ids[1].at("time_ids")}), ref.tensor("batch.add_time_ids")));
}

TEST(SdxlLoraTrainingReference, TwoStepsMatchTheReferenceScript) {
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "train_ref.safetensors");
  nlohmann::json facts;
  std::ifstream(sdxl() / "reference" / "train_ref.json") >> facts;

  families::StableDiffusionXL loaded = families::load_sdxl(sdxl() / "sdxl-tiny", {});
  models::UNet2DConditionModel unet = loaded.unet;
  for (auto& p : unet->parameters()) p.set_requires_grad(false);
  const std::vector<at::Tensor> lora = models::add_lora_adapters(*unet, models::kDefaultLoraTargets, /*rank=*/4,
                                                                 /*alpha=*/4, models::LoraInit::Gaussian);
  EXPECT_EQ(static_cast<std::int64_t>(lora.size()), 2 * facts["lora_modules"].get<std::int64_t>());
  std::int64_t count = 0;
  for (const auto& p : lora) count += p.numel();
  EXPECT_EQ(count, facts["lora_params"].get<std::int64_t>());

  // The reference's initial adapters.
  const NamedParameters trained = testing_support::reference_adapters(*unet, ref);
  ASSERT_EQ(trained.size(), lora.size());
  auto params = unet->named_parameters();
  std::vector<std::string> names;
  for (const auto& [name, p] : trained) names.push_back(name);

  // The script's DDPMScheduler is the model's own Euler config read as DDPM.
  const schedulers::DiscreteNoiseProcess noise_process(loaded.scheduler);
  const at::Tensor timesteps = ref.tensor("batch.timesteps");
  const at::Tensor x0 = ref.tensor("batch.model_input"), noise = ref.tensor("batch.noise");
  const at::Tensor noisy = noise_process.add_noise(x0, noise, timesteps);
  EXPECT_LT(max_abs(noisy, ref.tensor("batch.noisy_model_input")), 1e-6);
  const at::Tensor target = noise_process.training_target(x0, noise, timesteps);
  EXPECT_TRUE(at::equal(target, ref.tensor("batch.target")));
  const at::Tensor context = ref.tensor("batch.prompt_embeds").expand({2, -1, -1});
  const at::Tensor pooled = ref.tensor("batch.pooled_prompt_embeds").expand({2, -1});
  const at::Tensor time_ids = ref.tensor("batch.add_time_ids");

  testing_support::FixedBatchTask task(trained, [&] {
    return torch::nn::functional::mse_loss(unet->forward(noisy, timesteps, context, pooled, time_ids), target);
  });
  // The SDXL script's optimizer: AdamW, lr 1e-4 constant, weight decay 1e-4, clipping at 1.
  LoopSettings settings;
  settings.steps = 2;
  settings.learning_rate = 1e-4;
  settings.weight_decay = 1e-4;
  settings.max_grad_norm = 1.0;
  unet->train();
  TrainingLoop loop(task, settings);
  const auto losses = facts["loss_steps"].get<std::vector<double>>();
  const auto norms = facts["grad_norm_preclip_steps"].get<std::vector<double>>();
  for (int step = 0; step < 2; ++step) {
    const StepOutcome outcome = loop.step(step + 1);
    // The README's bounds: loss 1e-6 relative, grad norm 1e-5 relative, parameters 5e-6.
    EXPECT_NEAR(outcome.loss, losses[step], 1e-6 * losses[step]) << "step " << step + 1;
    EXPECT_NEAR(outcome.grad_norm, norms[step], 1e-5 * norms[step]) << "step " << step + 1;
    double worst = 0;
    for (const auto& name : names) {
      const at::Tensor expected = ref.tensor("lora_after_step" + std::to_string(step + 1) + "/" + name);
      worst = std::max(worst, max_abs(params[name].detach(), expected));
    }
    std::cout << "[ measured ] step " << step + 1 << ": loss " << outcome.loss << " (reference " << losses[step]
              << "), pre-clip grad norm " << outcome.grad_norm << " (" << norms[step]
              << "), LoRA parameters max |diff| " << worst << "\n";
    EXPECT_LT(worst, 5e-6) << "after step " << step + 1;
  }
}

}  // namespace
}  // namespace pawtrait::training
