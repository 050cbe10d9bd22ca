// SDXL's two text encoders against ../shared/testdata/sdxl/reference/text_io.safetensors:
// CLIP ViT-L (text_encoder, saved by transformers 5 without the "text_model." prefix) and
// OpenCLIP bigG with its projection (text_encoder_2, CLIPTextModelWithProjection).
#include <ATen/ATen.h>

#include <iostream>

#include "models/component_loader.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

std::filesystem::path sdxl() { return testing::testdata() / "sdxl"; }

// The testdata README's acceptance for module outputs, |a − b| ≤ 1e-5 + 1e-5·|b|: about ten
// times the reference's own spread on the text encoders (float32 vs float64 9.9e-7 on
// states of magnitude 2.3).
void expect_close(const std::string& what, const at::Tensor& actual, const at::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const at::Tensor b = expected.to(at::kDouble);
  const at::Tensor d = (actual.to(at::kDouble) - b).abs();
  std::cout << "[ measured ] " << what << ": max |difference| " << d.max().item<double>() << "\n";
  EXPECT_LE((d - (1e-5 + 1e-5 * b.abs())).max().item<double>(), 0.0) << what;
}

TEST(SdxlTextEncoders, HiddenStatesAndThePooledProjectionMatchTheReference) {
  at::NoGradGuard no_grad;
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "text_io.safetensors");
  CLIPTextModel te1 = load_text_encoder(sdxl() / "sdxl-tiny" / "text_encoder");
  CLIPTextModel te2 = load_text_encoder(sdxl() / "sdxl-tiny" / "text_encoder_2");
  EXPECT_FALSE(te1->config.with_projection);
  EXPECT_TRUE(te2->config.with_projection);
  EXPECT_EQ(te2->config.projection_dim, 24);

  const CLIPTextOutput one = te1->forward(ref.tensor("te1.input_ids"), 0, /*keep_hidden_states=*/true);
  const CLIPTextOutput two = te2->forward(ref.tensor("te2.input_ids"), 0, /*keep_hidden_states=*/true);
  ASSERT_EQ(one.hidden_states.size(), 5u);
  ASSERT_EQ(two.hidden_states.size(), 6u);
  for (std::size_t l = 0; l < one.hidden_states.size(); ++l) {
    expect_close("te1 hidden state " + std::to_string(l), one.hidden_states[l], ref.tensor("te1.hidden_states")[l]);
  }
  for (std::size_t l = 0; l < two.hidden_states.size(); ++l) {
    expect_close("te2 hidden state " + std::to_string(l), two.hidden_states[l], ref.tensor("te2.hidden_states")[l]);
  }
  expect_close("te2 last_hidden_state", two.last_hidden_state, ref.tensor("te2.last_hidden_state"));
  expect_close("te2 pooled", two.pooler_output, ref.tensor("te2.pooled_pre_projection"));
  expect_close("te2 text_embeds", two.text_embeds, ref.tensor("te2.text_embeds"));
  // SDXL's prompt embedding: both penultimate states, before any final norm, ViT-L first.
  expect_close("prompt_embeds", at::cat({one.hidden_states.end()[-2], two.hidden_states.end()[-2]}, -1),
               ref.tensor("prompt_embeds"));
}

}  // namespace
}  // namespace pawtrait::models
