// Gradient checkpointing must change memory only: the same outputs and the same gradients,
// for LoRA training (where nothing before the first adapter requires grad), for full
// fine-tuning, and with autocast on.
#include "models/gradient_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/function.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <unordered_set>
#include <vector>

#include "models/component_loader.h"
#include "models/lora_linear.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

// Gradients relative to the largest: float32 sums of the same terms in another order (the
// recomputed segment's input gradient is summed inside the segment, then with the skip's).
constexpr double kTolerance = 5e-6;

// Max |x - y| over two gradient lists; fails when one side lacks a gradient the other has.
double max_abs_diff(const std::vector<at::Tensor>& x, const std::vector<at::Tensor>& y) {
  EXPECT_EQ(x.size(), y.size());
  double worst = 0;
  for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    EXPECT_EQ(x[i].defined(), y[i].defined()) << "gradient " << i;
    if (!x[i].defined() || !y[i].defined()) continue;
    worst = std::max(worst, (x[i] - y[i]).abs().max().item<double>());
  }
  return worst;
}

double max_abs(const std::vector<at::Tensor>& x) {
  double m = 0;
  for (const auto& t : x) {
    if (t.defined()) m = std::max(m, t.abs().max().item<double>());
  }
  return m;
}

// Nodes of the backward graph reachable from `root`, and how many of them are checkpoints.
struct GraphSize {
  std::size_t nodes = 0, checkpoints = 0;
};
GraphSize graph_size(const at::Tensor& root) {
  GraphSize size;
  std::unordered_set<torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> stack{root.grad_fn().get()};
  while (!stack.empty()) {
    torch::autograd::Node* node = stack.back();
    stack.pop_back();
    if (node == nullptr || !seen.insert(node).second) continue;
    ++size.nodes;
    if (node->name().find("Checkpoint") != std::string::npos) ++size.checkpoints;
    for (const auto& edge : node->next_edges()) stack.push_back(edge.function.get());
  }
  return size;
}

class GradientCheckpointUnet : public ::testing::Test {
 protected:
  void SetUp() override {
    unet_ = load_unet(testing::testdata() / "sd-tiny" / "unet");
    const auto ref = tensors::SafetensorsFile::open(testing::testdata() / "reference" / "unet_io.safetensors");
    sample_ = ref.tensor("t10.sample");
    timestep_ = ref.tensor("t10.timestep").to(at::kLong);
    context_ = ref.tensor("t10.encoder_hidden_states");
    // A loss whose gradient differs per element, so that a wrong gradient cannot cancel out.
    weight_ = at::randn(sample_.sizes(), make_generator(7));
  }

  static at::Generator make_generator(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

  // One forward and backward; returns the gradients of `params` (and of the sample if it
  // requires grad, last) and keeps the output and the graph size.
  std::vector<at::Tensor> gradients(bool checkpointing, bool sample_requires_grad,
                                    const std::vector<at::Tensor>& params) {
    for (const auto& p : params) p.mutable_grad() = at::Tensor();
    unet_->enable_gradient_checkpointing(checkpointing);
    const at::Tensor sample = sample_.clone().requires_grad_(sample_requires_grad);
    output_ = unet_->forward(sample, timestep_, context_);
    const at::Tensor loss = (output_ * weight_).sum();
    graph_ = graph_size(loss);
    loss.backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : params) grads.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
    if (sample_requires_grad) grads.push_back(sample.grad().clone());
    return grads;
  }

  // The resnets before the first transformer: with frozen layers and a sample that needs no
  // gradient, neither their inputs nor their parameters need one, so they run plainly.
  std::size_t resnets_before_first_transformer() const {
    std::size_t n = 0;
    for (const auto& b : *unet_->down_blocks) {
      if (!b->as<UNetDownBlock>()->attentions.is_empty()) return n + 1;
      n += b->as<UNetDownBlock>()->resnets->size();
    }
    return n;
  }

  // resnets + transformers in the down, mid and up blocks: one checkpoint each.
  std::size_t segments() const {
    std::size_t n = 0;
    auto count = [&](const torch::nn::ModuleList& resnets, const torch::nn::ModuleList& attentions) {
      n += resnets->size() + (attentions.is_empty() ? 0 : attentions->size());
    };
    for (const auto& b : *unet_->down_blocks)
      count(b->as<UNetDownBlock>()->resnets, b->as<UNetDownBlock>()->attentions);
    count(unet_->mid_block->resnets, unet_->mid_block->attentions);
    for (const auto& b : *unet_->up_blocks) count(b->as<UNetUpBlock>()->resnets, b->as<UNetUpBlock>()->attentions);
    return n;
  }

  std::vector<at::Tensor> add_lora() {
    for (auto& p : unet_->parameters()) p.set_requires_grad(false);
    std::vector<at::Tensor> lora =
        add_lora_adapters(*unet_, kDefaultLoraTargets, /*rank=*/4, /*alpha=*/4, LoraInit::Gaussian, make_generator(1));
    // lora_B starts at zero, which leaves lora_A without a gradient; give it a small value.
    at::NoGradGuard no_grad;
    at::Generator g = make_generator(2);
    for (const auto& item : unet_->named_parameters()) {
      if (item.key().find(".lora_B.") != std::string::npos) item.value().normal_(0, 0.02, g);
    }
    return lora;
  }

  UNet2DConditionModel unet_{nullptr};
  at::Tensor sample_, timestep_, context_, weight_, output_;
  GraphSize graph_;
};

TEST_F(GradientCheckpointUnet, LoraGradientsAreUnchanged) {
  const std::vector<at::Tensor> lora = add_lora();
  ASSERT_FALSE(lora.empty());
  for (const bool sample_requires_grad : {true, false}) {
    SCOPED_TRACE(sample_requires_grad ? "sample requires grad" : "sample does not require grad (as in training)");
    const auto plain = gradients(/*checkpointing=*/false, sample_requires_grad, lora);
    const at::Tensor plain_out = output_;
    const GraphSize plain_graph = graph_;
    const double run_to_run = max_abs_diff(gradients(/*checkpointing=*/false, sample_requires_grad, lora), plain);
    const auto ckpt = gradients(/*checkpointing=*/true, sample_requires_grad, lora);

    // Every adapter, including those whose block input needs no gradient, gets one.
    for (std::size_t i = 0; i < lora.size(); ++i) {
      ASSERT_TRUE(ckpt[i].defined()) << "LoRA parameter " << i << " got no gradient with checkpointing";
      EXPECT_GT(ckpt[i].abs().max().item<double>(), 0) << "LoRA parameter " << i;
    }
    EXPECT_EQ(graph_.checkpoints, sample_requires_grad ? segments() : segments() - resnets_before_first_transformer());
    EXPECT_LT(graph_.nodes * 2, plain_graph.nodes);
    const double out_diff = (output_ - plain_out).abs().max().item<double>();
    const double lora_diff = max_abs_diff({ckpt.begin(), ckpt.begin() + static_cast<std::ptrdiff_t>(lora.size())},
                                          {plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(lora.size())});
    const double sample_diff = sample_requires_grad ? (ckpt.back() - plain.back()).abs().max().item<double>() : 0.0;
    std::cout << "[ measured ] LoRA, sample " << (sample_requires_grad ? "with" : "without")
              << " grad: output max |diff| " << out_diff << ", LoRA grads max |diff| " << lora_diff << " (max |grad| "
              << max_abs(plain) << "; without checkpointing, run to run " << run_to_run << "), sample grad max |diff| "
              << sample_diff << "; backward graph " << plain_graph.nodes << " -> " << graph_.nodes << " nodes, "
              << graph_.checkpoints << " checkpoints\n";
    EXPECT_EQ(out_diff, 0.0);
    EXPECT_LE(lora_diff, kTolerance * max_abs(plain));
    EXPECT_LE(sample_diff, kTolerance * max_abs(plain));
  }
}

TEST_F(GradientCheckpointUnet, FullFineTuningGradientsAreUnchanged) {
  std::vector<at::Tensor> params = unet_->parameters();
  for (auto& p : params) p.set_requires_grad(true);
  const auto plain = gradients(/*checkpointing=*/false, /*sample_requires_grad=*/false, params);
  const at::Tensor plain_out = output_;
  const auto ckpt = gradients(/*checkpointing=*/true, /*sample_requires_grad=*/false, params);
  for (std::size_t i = 0; i < params.size(); ++i) ASSERT_TRUE(ckpt[i].defined()) << "parameter " << i;
  EXPECT_EQ(graph_.checkpoints, segments());
  const double out_diff = (output_ - plain_out).abs().max().item<double>();
  const double diff = max_abs_diff(ckpt, plain);
  std::cout << "[ measured ] full fine-tuning, " << params.size() << " parameters: output max |diff| " << out_diff
            << ", grads max |diff| " << diff << " (max |grad| " << max_abs(plain) << ")\n";
  EXPECT_EQ(out_diff, 0.0);
  EXPECT_LE(diff, kTolerance * max_abs(plain));
}

TEST_F(GradientCheckpointUnet, WithoutGradModeTheOutputIsUnchanged) {
  at::NoGradGuard no_grad;
  const at::Tensor plain = unet_->forward(sample_, timestep_, context_);
  unet_->enable_gradient_checkpointing();
  const at::Tensor ckpt = unet_->forward(sample_, timestep_, context_);
  EXPECT_TRUE(at::equal(ckpt, plain));
  EXPECT_FALSE(ckpt.requires_grad());
}

// y = tanh(a W) ⊙ b + a, or tanh(a W) + a without b.
at::Tensor simple(const at::Tensor& a, const at::Tensor& b, const at::Tensor& w) {
  const at::Tensor h = at::tanh(at::matmul(a, w));
  return (b.defined() ? h * b : h) + a;
}

struct SimpleCase {
  at::Tensor a, b, w, weight;
  SimpleCase(bool a_grad, bool with_b, bool b_grad) {
    at::Generator g = at::detail::createCPUGenerator(3);
    a = at::randn({5, 8}, g).requires_grad_(a_grad);
    if (with_b) b = at::randn({5, 8}, g).requires_grad_(b_grad);
    w = (at::randn({8, 8}, g) * 0.3).requires_grad_(true);
    weight = at::randn({5, 8}, g);
  }
  // Gradients of w, a, b (undefined where none) from one backward of either path.
  std::vector<at::Tensor> run(bool checkpoint) {
    for (at::Tensor* t : {&a, &b, &w}) {
      if (t->defined()) t->mutable_grad() = at::Tensor();
    }
    const at::Tensor weight_w = w;
    const at::Tensor y =
        checkpoint
            ? checkpointed([weight_w](const at::Tensor& x, const at::Tensor& c) { return simple(x, c, weight_w); }, a,
                           b, {w})
            : simple(a, b, w);
    (y * weight).sum().backward();
    return {w.grad(), a.defined() ? a.grad() : at::Tensor(), b.defined() ? b.grad() : at::Tensor()};
  }
};

TEST(GradientCheckpoint, SimpleFunctionGradientsMatchTheDirectCall) {
  struct Config {
    bool a_grad, with_b, b_grad;
  };
  for (const Config c : {Config{true, true, true}, Config{true, true, false}, Config{false, true, true},
                         Config{true, false, false}, Config{false, false, false}}) {
    SCOPED_TRACE("a_grad " + std::to_string(c.a_grad) + ", with_b " + std::to_string(c.with_b) + ", b_grad " +
                 std::to_string(c.b_grad));
    SimpleCase s(c.a_grad, c.with_b, c.b_grad);
    const auto direct = s.run(false);
    const auto ckpt = s.run(true);
    ASSERT_TRUE(ckpt[0].defined()) << "the parameter got no gradient";
    EXPECT_EQ(ckpt[1].defined(), c.a_grad);
    EXPECT_EQ(ckpt[2].defined(), c.with_b && c.b_grad);
    EXPECT_LE(max_abs_diff(ckpt, direct), 1e-6);
  }
}

TEST(GradientCheckpoint, GradientsAccumulateLikeTheDirectCall) {
  SimpleCase s(true, true, true);
  const at::Tensor w = s.w;
  auto f = [w](const at::Tensor& x, const at::Tensor& c) { return simple(x, c, w); };
  const auto once = s.run(true);
  // Two checkpointed uses of the same parameter: its gradient is the sum of both.
  s.w.mutable_grad() = at::Tensor();
  (checkpointed(f, s.a, s.b, {w, w}) * s.weight).sum().backward();  // listed twice, counted once
  (checkpointed(f, s.a, s.b, {w}) * s.weight).sum().backward();
  EXPECT_LE((s.w.grad() - 2 * once[0]).abs().max().item<double>(), 1e-6);
}

TEST(GradientCheckpoint, WithoutGradModeItIsThePlainCall) {
  SimpleCase s(true, true, true);
  int calls = 0;
  const at::Tensor w = s.w;
  auto f = [&calls, w](const at::Tensor& x, const at::Tensor& c) {
    ++calls;
    return simple(x, c, w);
  };
  at::NoGradGuard no_grad;
  const at::Tensor y = checkpointed(f, s.a, s.b, {w});
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(at::equal(y, simple(s.a, s.b, w)));
}

TEST(GradientCheckpoint, RecomputesOnlyDuringBackward) {
  SimpleCase s(true, false, false);
  int calls = 0;
  const at::Tensor w = s.w;
  auto f = [&calls, w](const at::Tensor& x, const at::Tensor& c) {
    ++calls;
    return simple(x, c, w);
  };
  const at::Tensor y = checkpointed(f, s.a, {}, {w});
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(y.requires_grad());
  y.sum().backward();
  EXPECT_EQ(calls, 2);
}

// The backward pass runs after the autocast scope has ended (on CUDA, on another thread), so
// the recomputation must restore it: recomputed in float32 the gradients would differ by ~1e-3.
TEST(GradientCheckpoint, RecomputationUsesTheForwardAutocastState) {
  SimpleCase s(true, true, true);
  auto run = [&](bool checkpoint, bool autocast) {
    for (at::Tensor* t : {&s.a, &s.b, &s.w}) t->mutable_grad() = at::Tensor();
    const at::Tensor w = s.w;
    at::Tensor y;
    {
      at::autocast::set_autocast_enabled(at::kCPU, autocast);
      at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
      at::autocast::increment_nesting();
      y = checkpoint
              ? checkpointed([w](const at::Tensor& x, const at::Tensor& c) { return simple(x, c, w); }, s.a, s.b, {w})
              : simple(s.a, s.b, w);
      if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
      at::autocast::set_autocast_enabled(at::kCPU, false);
    }
    (y * s.weight).sum().backward();
    return std::vector<at::Tensor>{s.w.grad().clone(), s.a.grad().clone(), s.b.grad().clone()};
  };
  const auto direct = run(/*checkpoint=*/false, /*autocast=*/true);
  const auto ckpt = run(/*checkpoint=*/true, /*autocast=*/true);
  const auto float32 = run(/*checkpoint=*/false, /*autocast=*/false);
  const double diff = max_abs_diff(ckpt, direct);
  const double bf16_effect = max_abs_diff(float32, direct);
  std::cout << "[ measured ] bf16 CPU autocast: checkpointed vs direct grads max |diff| " << diff
            << ", float32 vs bf16 grads max |diff| " << bf16_effect << " (max |grad| " << max_abs(direct) << ")\n";
  EXPECT_GT(bf16_effect, 1e-4);  // else this test could not tell whether autocast was restored
  EXPECT_LE(diff, 1e-6);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
}

}  // namespace
}  // namespace pawtrait::models
