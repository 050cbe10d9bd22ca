// The klein models' Qwen3 text-encoder config, and what a config the decoder cannot run says.
#include <fstream>

#include "common/error.h"
#include "models/qwen3_config.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

nlohmann::json klein_text_encoder() {
  return nlohmann::json::parse(
      std::ifstream(testing::testdata() / "klein" / "klein-tiny" / "text_encoder" / "config.json"));
}

TEST(Qwen3Config, ReadsKleinsTextEncoder) {
  const Qwen3Config c = Qwen3Config::from_json(klein_text_encoder(), "text_encoder/config.json");
  EXPECT_EQ(c.vocab_size, 3136);
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.intermediate_size, 64);
  EXPECT_EQ(c.num_hidden_layers, 36);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);  // not hidden_size / heads = 8
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  // An older file's top-level rope_theta; without num_key_value_heads every query head has its own.
  nlohmann::json old = klein_text_encoder();
  old.erase("rope_parameters");
  old.erase("num_key_value_heads");
  old["rope_theta"] = 10000.0;
  const Qwen3Config o = Qwen3Config::from_json(old, "old");
  EXPECT_EQ(o.rope_theta, 10000.0);
  EXPECT_EQ(o.num_key_value_heads, 4);
}

TEST(Qwen3Config, RefusesWhatTheDecoderDoesNotDo) {
  auto with = [](const char* key, nlohmann::json value) {
    nlohmann::json c = klein_text_encoder();
    c[key] = std::move(value);
    return Qwen3Config::from_json(c, "text_encoder/config.json");
  };
  EXPECT_THROW_MESSAGE(with("num_key_value_heads", 3), "must divide num_attention_heads");
  EXPECT_THROW_MESSAGE(with("hidden_act", "gelu"), "must be \"silu\"");
  EXPECT_THROW_MESSAGE(with("use_sliding_window", true), "not supported");
  EXPECT_THROW_MESSAGE(with("layer_types", {"sliding_attention"}), "only full_attention");
  EXPECT_THROW_MESSAGE(with("rope_parameters", {{"rope_type", "yarn"}, {"rope_theta", 1e6}}), "no rotary scaling");
  EXPECT_THROW_MESSAGE(with("rope_parameters", {{"rope_type", "default"}}), "names no rope_theta");
  EXPECT_THROW_MESSAGE(with("head_dim", 15), "must be even");
  EXPECT_THROW_MESSAGE(with("hidden_size", 0), "hidden_size");
}

}  // namespace
}  // namespace pawtrait::models
