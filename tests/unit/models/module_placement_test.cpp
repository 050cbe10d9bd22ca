// Frozen weights change places (a GPU that holds one 4B transformer at a time) and come back
// to the CPU as the very views they left, while the trained adapters stay where they are.
// Without a GPU here, a change of dtype stands in for the move (the same set_data path; the
// meta device cannot: set_data refuses it as an incompatible tensor type).
#include <ATen/ATen.h>

#include "models/lora_linear.h"
#include "models/module_placement.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

struct TwoLayersImpl : torch::nn::Module {
  TwoLayersImpl() {
    first = register_module("first", LoraLinear(4, 4));
    second = register_module("second", LoraLinear(4, 4));
    register_buffer("scale", at::ones({4}));
  }
  LoraLinear first{nullptr}, second{nullptr};
};
TORCH_MODULE(TwoLayers);

// Adapters are found by a path's last name, as in a real model's blocks.
struct BlockImpl : torch::nn::Module {
  BlockImpl() { layers = register_module("layers", TwoLayers()); }
  TwoLayers layers{nullptr};
};
TORCH_MODULE(Block);

TEST(ModulePlacement, FrozenWeightsMoveAndComeBackAsTheSameViews) {
  TwoLayersImpl m;
  for (auto& p : m.parameters()) p.set_requires_grad(false);
  const FrozenTensors saved = frozen_tensors(m);
  EXPECT_EQ(saved.size(), 5u);  // four parameters and the buffer
  const void* first_weight = m.first->weight.data_ptr();
  m.second->weight.set_requires_grad(true);  // as an adapter is: it stays put

  const at::Tensor handle = m.first->weight;  // an optimizer's or a merged LoRA's handle
  move_frozen(m, c10::Device(c10::kCPU));     // where it is: nothing moves
  EXPECT_EQ(m.first->weight.data_ptr(), first_weight);
  replace_frozen(m, [](const at::Tensor& t) { return t.to(at::kBFloat16); });
  EXPECT_EQ(m.first->weight.scalar_type(), at::kBFloat16);
  EXPECT_EQ(handle.scalar_type(), at::kBFloat16) << "a handle to the parameter follows it";
  EXPECT_EQ(m.named_buffers()["scale"].scalar_type(), at::kBFloat16);
  EXPECT_EQ(m.second->weight.scalar_type(), at::kFloat) << "a trained parameter moved";
  EXPECT_EQ(m.second->bias.scalar_type(), at::kBFloat16);

  restore_frozen(m, saved);
  EXPECT_EQ(m.first->weight.scalar_type(), at::kFloat);
  EXPECT_EQ(m.first->weight.data_ptr(), first_weight) << "not the saved view but a copy";
  EXPECT_EQ(handle.data_ptr(), first_weight);
  EXPECT_EQ(m.named_buffers()["scale"].scalar_type(), at::kFloat);
}

TEST(ModulePlacement, AdaptersAddedAfterSavingMoveWithTheFrozenWeightsAndKeepTheirValues) {
  BlockImpl m;
  for (auto& p : m.parameters()) p.set_requires_grad(false);
  const FrozenTensors saved = frozen_tensors(m);
  const auto adapters = add_lora_adapters(m, {"first"}, /*rank=*/2, /*alpha=*/2, LoraInit::Gaussian);
  ASSERT_EQ(adapters.size(), 2u);
  for (auto p : adapters) p.set_requires_grad(false);  // a preview model's copy of the run's adapters
  const at::Tensor down = adapters[0].clone();
  replace_frozen(m, [](const at::Tensor& t) { return t.to(at::kDouble); });
  for (const auto& p : adapters) EXPECT_EQ(p.scalar_type(), at::kDouble) << "a frozen adapter stayed behind";
  // Restored: the saved weights return as views, the adapters (already on the CPU) keep
  // what they hold.
  restore_frozen(m, saved);
  EXPECT_EQ(m.layers->first->weight.data_ptr(), saved.at("layers.first.weight").data_ptr());
  EXPECT_TRUE(at::equal(adapters[0], down.to(at::kDouble)));
}

}  // namespace
}  // namespace pawtrait::models
