// The SD UNet grown by config to SDXL's (text_time micro-conditioning, per-block transformer
// depths and head counts, linear projections, three levels) against the reference's own
// outputs in ../shared/testdata/sdxl/reference/unet_io.safetensors.
#include <ATen/ATen.h>

#include <iostream>

#include "common/error.h"
#include "models/component_loader.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

std::filesystem::path sdxl() { return testing::testdata() / "sdxl"; }

// The testdata README's acceptance for module outputs: |a − b| ≤ 1e-5 + 1e-5·|b|, about ten
// times the reference's own spread on the UNet output (float32 vs float64 1.2e-6, one CPU
// thread vs two 1.2e-6, on outputs of magnitude 1.56).
double excess(const at::Tensor& actual, const at::Tensor& expected) {
  EXPECT_EQ(actual.sizes(), expected.sizes());
  const at::Tensor b = expected.to(at::kDouble);
  return ((actual.to(at::kDouble) - b).abs() - (1e-5 + 1e-5 * b.abs())).max().item<double>();
}

TEST(SdxlUNet, MatchesTheReferenceOnEveryCase) {
  at::NoGradGuard no_grad;
  UNet2DConditionModel unet = load_unet(sdxl() / "sdxl-tiny" / "unet");
  EXPECT_EQ(unet->config.addition_embed_type, "text_time");
  std::int64_t parameters = 0;
  for (const auto& p : unet->parameters()) parameters += p.numel();
  EXPECT_EQ(parameters, 768324);  // the README's count

  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "unet_io.safetensors");
  for (const char* name : {"t999", "t501", "t1", "t501_zeros_uncond", "t250p5_h8_w12", "b2_t10_t900_16x16"}) {
    SCOPED_TRACE(name);
    const std::string c = name;
    const at::Tensor out =
        unet->forward(ref.tensor(c + ".sample"), ref.tensor(c + ".timestep"), ref.tensor(c + ".encoder_hidden_states"),
                      ref.tensor(c + ".text_embeds"), ref.tensor(c + ".time_ids"));
    const double to_f64 = (out.to(at::kDouble) - ref.tensor(c + ".out_f64")).abs().max().item<double>();
    std::cout << "[ measured ] " << c << ": max |out - reference| "
              << (out.to(at::kDouble) - ref.tensor(c + ".out").to(at::kDouble)).abs().max().item<double>()
              << ", against the float64 reference " << to_f64 << "\n";
    EXPECT_LE(excess(out, ref.tensor(c + ".out")), 0.0);
  }
}

TEST(SdxlUNet, TheMicroConditioningIsRequiredAndChecked) {
  at::NoGradGuard no_grad;
  UNet2DConditionModel unet = load_unet(sdxl() / "sdxl-tiny" / "unet");
  const at::Tensor x = at::zeros({1, 4, 8, 8});
  EXPECT_THROW_MESSAGE(unet->forward(x, at::scalar_tensor(1.0), at::zeros({1, 77, 24})),
                       "needs the pooled text embedding and the size ids");
  nlohmann::json config = nlohmann::json::parse(R"({"addition_embed_type": "image"})");
  EXPECT_THROW_MESSAGE(UNet2DConditionConfig::from_json(config, "unet/config.json"), "unet/config.json",
                       "addition_embed_type", "only \"text_time\"");
  config = nlohmann::json::parse(
      R"({"addition_embed_type": "text_time", "addition_time_embed_dim": 16, "projection_class_embeddings_input_dim": 96})");
  EXPECT_THROW_MESSAGE(UNet2DConditionConfig::from_json(config, "unet/config.json"),
                       "projection_class_embeddings_input_dim", "more than 6");
}

}  // namespace
}  // namespace pawtrait::models
