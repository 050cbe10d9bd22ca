// The klein models' transformer configs as the reference reads them, and what a broken one says.
#include <fstream>

#include "common/error.h"
#include "families/flux2/flux2_transformer_config.h"
#include "test_support.h"

namespace pawtrait::families {
namespace {

nlohmann::json klein_config(const char* model) {
  return nlohmann::json::parse(std::ifstream(testing::testdata() / "klein" / model / "transformer" / "config.json"));
}

TEST(Flux2TransformerConfig, ReadsTheKleinModels) {
  for (const char* model : {"klein-tiny", "klein-base-tiny"}) {
    const Flux2TransformerConfig c = Flux2TransformerConfig::from_json(klein_config(model), model);
    EXPECT_EQ(c.in_channels, 128) << model;
    EXPECT_EQ(c.out_channels, 128) << model;  // null: in_channels
    EXPECT_EQ(c.num_layers, 2) << model;
    EXPECT_EQ(c.num_single_layers, 3) << model;
    EXPECT_EQ(c.inner_dim(), 48) << model;  // 3 heads × 16
    EXPECT_EQ(c.mlp_hidden_dim(), 144) << model;
    EXPECT_EQ(c.joint_attention_dim, 96) << model;
    EXPECT_EQ(c.axes_dims_rope, (std::vector<std::int64_t>{4, 4, 4, 4})) << model;
    EXPECT_EQ(c.rope_theta, 2000.0) << model;
    EXPECT_EQ(c.eps, 1e-6) << model;
    EXPECT_FALSE(c.guidance_embeds) << model;
  }
  // The reference's defaults for what a file leaves out (FLUX.2 [dev]'s sizes).
  const Flux2TransformerConfig d = Flux2TransformerConfig::from_json(nlohmann::json::object(), "{}");
  EXPECT_EQ(d.inner_dim(), 6144);
  EXPECT_EQ(d.mlp_hidden_dim(), 18432);
  EXPECT_TRUE(d.guidance_embeds);
}

TEST(Flux2TransformerConfig, SaysWhatIsWrong) {
  auto with = [](const char* key, nlohmann::json value) {
    nlohmann::json c = klein_config("klein-tiny");
    c[key] = std::move(value);
    return Flux2TransformerConfig::from_json(c, "transformer/config.json");
  };
  EXPECT_THROW_MESSAGE(with("axes_dims_rope", {4, 4, 4, 2}),
                       "must add up to attention_head_dim (16); they add up to 14");
  EXPECT_THROW_MESSAGE(with("axes_dims_rope", {3, 5, 4, 4}), "even sizes");
  EXPECT_THROW_MESSAGE(with("num_attention_heads", 0), "num_attention_heads");
  EXPECT_THROW_MESSAGE(with("mlp_ratio", "wide"), "mlp_ratio");
  EXPECT_THROW_MESSAGE(with("num_layers", -1), "not both 0");
  EXPECT_THROW_MESSAGE(with("timestep_guidance_channels", 255), "must be even");
}

}  // namespace
}  // namespace pawtrait::families
