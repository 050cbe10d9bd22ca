// The klein transformer against ../shared/testdata/klein/reference/transformer_io.safetensors:
// the rotary tables, the outputs at three σ, the intermediate activations at σ 0.618, the
// base model's weights on the same inputs, and a batch of two with per-sample timesteps.
#include <ATen/ATen.h>

#include "families/flux2/flux2_transformer.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/flux2/flux2_test_support.h"

namespace pawtrait::families {
namespace {

using flux2_testing::expect_close;
using flux2_testing::klein;
using flux2_testing::max_difference;

const tensors::SafetensorsFile& io() {
  static const auto file = tensors::SafetensorsFile::open(klein() / "reference" / "transformer_io.safetensors");
  return file;
}

Flux2Transformer2DModel& distilled() {
  static Flux2Transformer2DModel model = load_flux2_transformer(klein() / "klein-tiny" / "transformer");
  return model;
}

at::Tensor run(Flux2Transformer2DModel& model, const std::string& c, const std::string& t) {
  return model->forward(io().tensor(c + ".hidden_states"), io().tensor(c + ".encoder_hidden_states"),
                        io().tensor(t + ".timestep"), io().tensor(c + ".img_ids"), io().tensor(c + ".txt_ids"));
}

// Module outputs: 1e-5 (README; the reference's fp32-vs-fp64 spread is 1.1e-6 on magnitude 2.6).
constexpr double kAtol = 1e-5;

TEST(KleinTransformer, RotaryTablesMatchTheReference) {
  const at::Tensor ids = at::cat({io().tensor("a.txt_ids")[0], io().tensor("a.img_ids")[0]}, 0);
  const auto [cos, sin] = flux2_rotary_tables(ids, {4, 4, 4, 4}, 2000);
  expect_close("rope cos", cos, io().tensor("a.rope_cos"), 1e-7);
  expect_close("rope sin", sin, io().tensor("a.rope_sin"), 1e-7);
}

TEST(KleinTransformer, OutputsAtThreeSigmasMatchTheReference) {
  at::NoGradGuard no_grad;
  EXPECT_FALSE(distilled()->config.guidance_embeds);
  for (const char* t : {"a.t0", "a.t1", "a.t2"}) {
    expect_close(std::string(t) + ".out", run(distilled(), "a", t), io().tensor(std::string(t) + ".out"), kAtol);
  }
  // The bound tells a wrong timestep apart: σ 1 against σ 0.618 lands 0.12 away.
  EXPECT_GT(max_difference(run(distilled(), "a", "a.t0"), io().tensor("a.t1.out")), 100 * kAtol);
  // So swapped image ids (h and w), 0.019 away.
  const at::Tensor swapped = io().tensor("a.img_ids").index_select(2, at::tensor({0, 2, 1, 3}, at::kLong));
  const at::Tensor wrong = distilled()->forward(io().tensor("a.hidden_states"), io().tensor("a.encoder_hidden_states"),
                                                io().tensor("a.t1.timestep"), swapped, io().tensor("a.txt_ids"));
  EXPECT_GT(max_difference(wrong, io().tensor("a.t1.out")), 100 * kAtol);
}

TEST(KleinTransformer, IntermediateActivationsMatchTheReference) {
  at::NoGradGuard no_grad;
  Flux2Transformer2DModel& m = distilled();
  const at::Tensor timestep = io().tensor("a.t1.timestep");
  const at::Tensor proj = models::timestep_embedding(timestep * 1000, 256, true, 0);
  // The sinusoid's largest argument is 1000 rad (sigma 1 at the highest frequency), where one
  // float32 step is 6.1e-5: an exp or sin one ulp apart (vectorised maths libraries differ by
  // CPU: 0 on Intel, 1.2e-5 on AMD EPYC here) moves a term that far. Its effect downstream is
  // held to the modules' 1e-5 below.
  constexpr double kSinusoidAtol = 6.1e-5;
  expect_close("time_proj", proj, io().tensor("a.t1.act.time_proj"), kSinusoidAtol);
  const at::Tensor temb = m->time_guidance_embed->forward(timestep * 1000, {});
  expect_close("time_guidance_embed", temb, io().tensor("a.t1.act.time_guidance_embed"), kAtol);
  expect_close("double_stream_modulation_img", m->double_stream_modulation_img->forward(temb),
               io().tensor("a.t1.act.double_stream_modulation_img"), kAtol);
  expect_close("double_stream_modulation_txt", m->double_stream_modulation_txt->forward(temb),
               io().tensor("a.t1.act.double_stream_modulation_txt"), kAtol);
  expect_close("single_stream_modulation", m->single_stream_modulation->forward(temb),
               io().tensor("a.t1.act.single_stream_modulation"), kAtol);
  at::Tensor image = m->x_embedder->forward(io().tensor("a.hidden_states"));
  at::Tensor text = m->context_embedder->forward(io().tensor("a.encoder_hidden_states"));
  expect_close("x_embedder", image, io().tensor("a.t1.act.x_embedder"), kAtol);
  expect_close("context_embedder", text, io().tensor("a.t1.act.context_embedder"), kAtol);
  const auto [cos, sin] = flux2_rotary_tables(at::cat({io().tensor("a.txt_ids")[0], io().tensor("a.img_ids")[0]}, 0),
                                              m->config.axes_dims_rope, m->config.rope_theta);
  for (std::size_t i = 0; i < m->transformer_blocks->size(); ++i) {
    std::tie(text, image) = m->transformer_blocks[i]->as<Flux2TransformerBlock>()->forward(
        image, text, m->double_stream_modulation_img->forward(temb), m->double_stream_modulation_txt->forward(temb),
        cos, sin);
    const std::string key = "a.t1.act.transformer_blocks." + std::to_string(i);
    expect_close(key + " text", text, io().tensor(key + ".0"), kAtol);
    expect_close(key + " image", image, io().tensor(key + ".1"), kAtol);
  }
  at::Tensor joint = at::cat({text, image}, 1);
  for (std::size_t i = 0; i < m->single_transformer_blocks->size(); ++i) {
    joint = m->single_transformer_blocks[i]->as<Flux2SingleTransformerBlock>()->forward(
        joint, m->single_stream_modulation->forward(temb), cos, sin);
    const std::string key = "a.t1.act.single_transformer_blocks." + std::to_string(i);
    expect_close(key, joint, io().tensor(key), kAtol);
  }
  const at::Tensor normed = m->norm_out->forward(joint.slice(1, 512), temb);
  expect_close("norm_out", normed, io().tensor("a.t1.act.norm_out"), kAtol);
  expect_close("proj_out", m->proj_out->forward(normed), io().tensor("a.t1.act.proj_out"), kAtol);
}

TEST(KleinTransformer, TheBaseWeightsAndABatchWithPerSampleTimestepsMatch) {
  at::NoGradGuard no_grad;
  Flux2Transformer2DModel base = load_flux2_transformer(klein() / "klein-base-tiny" / "transformer");
  expect_close("base a.t1.out", run(base, "a", "a.t1"), io().tensor("a.t1.out_base_transformer"), kAtol);
  // 8x12 tokens, 40 text tokens, σ [0.75, 0.25]: the fp32-vs-fp64 spread is 9.0e-7.
  expect_close("b.out", run(distilled(), "b", "b"), io().tensor("b.out"), kAtol);
}

// Gradient checkpointing (what klein training does on a GPU by default) gives the blocks'
// weights the gradients they get without it. The checkpointed functions run again in the
// backward pass, after forward() has returned, so they must hold their own handles to what they
// read: this is the test that found them reading forward()'s locals by reference. Bound: the
// same float32 sums in another order, as tests/unit/models/gradient_checkpoint_test.cpp's.
TEST(KleinTransformer, GradientCheckpointingGivesTheBlocksTheSameGradients) {
  Flux2Transformer2DModel m = load_flux2_transformer(klein() / "klein-base-tiny" / "transformer");
  std::vector<at::Tensor> trained;  // the blocks' weights, where the LoRA adapters go
  for (auto& item : m->named_parameters()) {
    const bool in_a_block =
        item.key().rfind("transformer_blocks.", 0) == 0 || item.key().rfind("single_transformer_blocks.", 0) == 0;
    item.value().set_requires_grad(in_a_block);
    if (in_a_block) trained.push_back(item.value());
  }
  ASSERT_FALSE(trained.empty());
  auto gradients = [&](bool checkpointing) {
    m->gradient_checkpointing = checkpointing;
    for (auto& p : trained) p.mutable_grad() = at::Tensor();
    run(m, "a", "a.t1").square().mean().backward();
    std::vector<at::Tensor> grads;
    for (auto& p : trained) grads.push_back(p.grad().clone());
    return grads;
  };
  const std::vector<at::Tensor> plain = gradients(false), checkpointed = gradients(true);
  double largest = 0, worst = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    largest = std::max(largest, plain[i].abs().max().item<double>());
    worst = std::max(worst, max_difference(checkpointed[i], plain[i]));
  }
  EXPECT_GT(largest, 0);
  EXPECT_LE(worst, 5e-6 * largest) << "largest gradient " << largest;
}

TEST(KleinTransformer, RefusesInputsOfTheWrongWidth) {
  at::NoGradGuard no_grad;
  const at::Tensor text = at::zeros({1, 4, 64});
  EXPECT_THROW_MESSAGE(distilled()->forward(io().tensor("a.hidden_states"), text, io().tensor("a.t1.timestep"),
                                            io().tensor("a.img_ids"), io().tensor("a.txt_ids").slice(1, 0, 4)),
                       "96 wide", "got 64", "--text-encoder-layers");
}

}  // namespace
}  // namespace pawtrait::families
