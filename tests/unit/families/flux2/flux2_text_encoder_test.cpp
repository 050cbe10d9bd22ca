// klein's text path against ../shared/testdata/klein/reference/text_io.safetensors: the Qwen3
// decoder's hidden states layer by layer, and Flux2KleinPipeline.encode_prompt's stacked
// layers (9, 18, 27) for five prompts, through the tokenizer's chat template.
#include <ATen/ATen.h>

#include "common/json_file.h"
#include "families/flux2/flux2_text_encoding.h"
#include "models/qwen3_text.h"
#include "pipeline/generate_request.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/flux2/flux2_test_support.h"

namespace pawtrait::families {
namespace {

using flux2_testing::expect_close;
using flux2_testing::klein;
using nlohmann::json;

const tensors::SafetensorsFile& text_io() {
  static const auto file = tensors::SafetensorsFile::open(klein() / "reference" / "text_io.safetensors");
  return file;
}

TEST(KleinTextEncoder, EveryHiddenStateMatchesTheReference) {
  at::NoGradGuard no_grad;
  models::Qwen3TextModel encoder = models::load_qwen3_text_encoder(klein() / "klein-tiny" / "text_encoder", 36);
  EXPECT_EQ(encoder->config.head_dim, 16);
  EXPECT_EQ(encoder->config.num_key_value_heads, 2);
  std::vector<std::int64_t> all(37);
  for (std::int64_t k = 0; k <= 36; ++k) all[static_cast<std::size_t>(k)] = k;
  const std::vector<at::Tensor> states = encoder->hidden_states(text_io().tensor("qwen3_len64/input_ids"),
                                                                text_io().tensor("qwen3_len64/attention_mask"), all);
  const at::Tensor expected = text_io().tensor("qwen3_len64/hidden_states");
  // 1e-5: the reference's float32-vs-float64 spread on these states is 6.1e-6 (klein/README.md).
  for (std::size_t k = 0; k < states.size(); ++k) {
    expect_close("hidden state " + std::to_string(k), states[k], expected[static_cast<std::int64_t>(k)], 1e-5, 1e-6);
  }
}

TEST(KleinTextEncoder, PromptEmbeddingsMatchThePipeline) {
  at::NoGradGuard no_grad;
  // Built only as deep as layer 27: the nine layers beyond are never loaded.
  models::Qwen3TextModel encoder = models::load_qwen3_text_encoder(klein() / "klein-tiny" / "text_encoder", 27);
  EXPECT_EQ(encoder->model->layers->size(), 27u);
  const auto tokenizer = models::TokenizerJson::load(klein() / "klein-tiny" / "tokenizer");
  const json tokens = read_json_file(klein() / "reference" / "tokens.json");
  const at::Tensor index = text_io().tensor("prompt_embeds_prompt_index");
  std::vector<std::string> prompts;
  for (std::int64_t i = 0; i < index.size(0); ++i) {
    prompts.push_back(tokens.at("prompts").at(index[i].item<std::int64_t>()).at("prompt").get<std::string>());
  }
  const at::Tensor embeds = encode_prompts(encoder, tokenizer, prompts);
  // 5e-5: the README's bound for prompt_embeds (fp32 vs fp64 spread 5.3e-6 on magnitude 5.6).
  expect_close("prompt_embeds", embeds, text_io().tensor("prompt_embeds"), 5e-5);
  // The DreamBooth script's layers give other features, 2.2 away: the bound tells them apart.
  models::Qwen3TextModel deeper = models::load_qwen3_text_encoder(klein() / "klein-tiny" / "text_encoder", 30);
  const at::Tensor wrong = encode_prompts(deeper, tokenizer, {prompts[1]}, {10, 20, 30});
  expect_close("layers 10,20,30", wrong, text_io().tensor("prompt_embeds_layers_10_20_30_sks"), 5e-5);
  EXPECT_GT(flux2_testing::max_difference(wrong, embeds.slice(0, 1, 2)), 1.0);
  EXPECT_TRUE(at::equal(text_position_ids(512), text_io().tensor("text_ids")));
}

TEST(KleinTextEncoder, RefusesLayersTheEncoderDoesNotHave) {
  EXPECT_THROW_MESSAGE(models::load_qwen3_text_encoder(klein() / "klein-tiny" / "text_encoder", 40), "layer 40",
                       "36 layers", "--text-encoder-layers");
  at::NoGradGuard no_grad;
  models::Qwen3TextModel encoder = models::load_qwen3_text_encoder(klein() / "klein-tiny" / "text_encoder", 9);
  const at::Tensor ids = at::zeros({1, 4}, at::kLong);
  EXPECT_THROW_MESSAGE(encoder->hidden_states(ids, at::ones({1, 4}, at::kLong), {18}), "layer 18", "9 layers");
  EXPECT_EQ(pipeline::parse_text_encoder_layers("9,18, 27"), (std::vector<std::int64_t>{9, 18, 27}));
  EXPECT_THROW_MESSAGE(pipeline::parse_text_encoder_layers("9,,27"), "9,,27", "9,18,27");
  EXPECT_THROW_MESSAGE(pipeline::parse_text_encoder_layers("-1"), "-1");
  EXPECT_THROW_MESSAGE(pipeline::parse_text_encoder_layers(""), "layer numbers");
}

}  // namespace
}  // namespace pawtrait::families
