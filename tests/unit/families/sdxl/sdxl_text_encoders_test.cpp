// SDXL's two text encoders against ../shared/testdata/sdxl/reference/text_io.safetensors:
// CLIP ViT-L (text_encoder, saved by transformers 5 without the "text_model." prefix) and
// OpenCLIP bigG with its projection (text_encoder_2, CLIPTextModelWithProjection).
#include <ATen/ATen.h>

#include "models/component_loader.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/sdxl/sdxl_test_support.h"

namespace pawtrait::models {
namespace {

using sdxl_testing::sdxl;

// The bound: 1e-5, about ten times the reference's own spread on the text encoders (float32
// vs float64 9.9e-7 on states of magnitude 2.3).
void expect_close(const std::string& what, const at::Tensor& actual, const at::Tensor& expected) {
  sdxl_testing::expect_close(what, actual, expected, 1e-5);
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
