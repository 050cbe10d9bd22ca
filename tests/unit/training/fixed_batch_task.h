#pragma once

// A training task over one fixed batch, for the reference-parity tests: the loss is the
// caller's (the reference's batch through the production noise process and model), and the
// optimizer step is the production one (TrainingLoop::step).
#include <torch/nn/module.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tensors/safetensors_reader.h"
#include "training/training_loop.h"

namespace pawtrait::training::testing_support {

class FixedBatchTask : public TrainingTask {
 public:
  FixedBatchTask(NamedParameters trained, std::function<at::Tensor()> loss)
      : trained_(std::move(trained)), loss_(std::move(loss)) {}
  NamedParameters trainable() override { return trained_; }
  at::Tensor loss(at::Generator&) override { return loss_(); }
  double validation_loss() override { return 0; }
  std::optional<TrainPreview> preview(std::int64_t, const std::atomic<bool>*) override { return std::nullopt; }
  void export_result(std::int64_t) override {}
  void set_training(bool) override {}
  std::string nan_advice() const override { return ""; }

 private:
  NamedParameters trained_;
  std::function<at::Tensor()> loss_;
};

// Sets every LoRA parameter of `module` to the reference's initial value ("lora_init/<name>";
// its N(0, 1/r²) draws depend on PEFT's RNG call order) and returns them by name, as trained.
inline NamedParameters reference_adapters(torch::nn::Module& module, const tensors::SafetensorsFile& ref) {
  NamedParameters trained;
  at::NoGradGuard no_grad;
  for (const auto& item : module.named_parameters()) {
    if (item.key().find(".lora_") == std::string::npos) continue;
    item.value().copy_(ref.tensor("lora_init/" + item.key()));
    trained.emplace_back(item.key(), item.value());
  }
  return trained;
}

}  // namespace pawtrait::training::testing_support
