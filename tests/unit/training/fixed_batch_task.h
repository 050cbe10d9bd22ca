#pragma once

// A training task over one fixed batch, for the reference-parity tests: the loss is the
// caller's (the reference's batch through the production noise process and model), and the
// optimizer step is the production one (TrainingLoop::step).
#include <functional>
#include <utility>

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

}  // namespace pawtrait::training::testing_support
