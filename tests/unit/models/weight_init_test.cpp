#include "models/weight_init.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "models/conv2d.h"
#include "models/embedding.h"
#include "models/lora_linear.h"

namespace pawtrait::models {
namespace {

TEST(WeightInit, LayersStartAsLibTorchsOwnWithTheSameSeed) {
  at::manual_seed(7);
  Conv2d conv(3, 8, 3, 1, 1);
  LoraLinear linear(5, 4);
  at::manual_seed(7);
  torch::nn::Conv2d torch_conv(torch::nn::Conv2dOptions(3, 8, 3).padding(1));
  torch::nn::Linear torch_linear(5, 4);
  EXPECT_TRUE(at::equal(conv->weight, torch_conv->weight));
  EXPECT_TRUE(at::equal(conv->bias, torch_conv->bias));
  EXPECT_TRUE(at::equal(linear->weight, torch_linear->weight));
  EXPECT_TRUE(at::equal(linear->bias, torch_linear->bias));
  at::manual_seed(3);
  Embedding embedding(10, 4);
  at::manual_seed(3);
  torch::nn::Embedding torch_embedding(10, 4);
  EXPECT_TRUE(at::equal(embedding->weight, torch_embedding->weight));
  const at::Tensor x = at::randn({1, 3, 6, 6});
  EXPECT_TRUE(at::allclose(conv->forward(x), torch_conv->forward(x)));
}

// A job's own seed gives the weights at::manual_seed would have, without touching the
// process's generator.
TEST(WeightInit, ASeededJobDrawsItsOwnNumbersAndLeavesTheGlobalOnesAlone) {
  at::manual_seed(7);
  torch::nn::Conv2d torch_conv(torch::nn::Conv2dOptions(3, 8, 3).padding(1));
  torch::nn::Embedding torch_embedding(10, 4);
  at::manual_seed(99);
  const at::Tensor expected = at::randn({4});
  at::manual_seed(99);
  {
    SeededWeightInit seeded(7);
    Conv2d conv(3, 8, 3, 1, 1);
    Embedding embedding(10, 4);
    EXPECT_TRUE(at::equal(conv->weight, torch_conv->weight));
    EXPECT_TRUE(at::equal(conv->bias, torch_conv->bias));
    EXPECT_TRUE(at::equal(embedding->weight, torch_embedding->weight));
  }
  EXPECT_TRUE(at::equal(at::randn({4}), expected));  // the global generator was not drawn from
  EXPECT_FALSE(weight_init_generator().has_value());
}

TEST(WeightInit, SkippedWhileAStrictLoadFollows) {
  at::manual_seed(11);
  const at::Tensor expected = at::randn({4});
  at::manual_seed(11);
  {
    SkipWeightInit loaded_next;
    Conv2d conv(16, 16, 3);
    LoraLinear linear(64, 64);
    Embedding embedding(100, 8);
  }
  EXPECT_TRUE(at::equal(at::randn({4}), expected));  // no random number was drawn
  at::manual_seed(11);
  Conv2d after(2, 2, 1);  // the guard is gone: initialised again
  EXPECT_FALSE(at::equal(at::randn({4}), expected));
}

}  // namespace
}  // namespace pawtrait::models
