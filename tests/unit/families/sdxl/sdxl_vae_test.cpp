// SDXL's VAE (four levels, scaling factor 0.13025, force_upcast) against
// ../shared/testdata/sdxl/reference/vae_io.safetensors: the posterior and the decode, square
// and not.
#include <ATen/ATen.h>

#include <iostream>

#include "models/component_loader.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/sdxl/sdxl_test_support.h"

namespace pawtrait::models {
namespace {

using sdxl_testing::expect_close;

// The bounds: 1e-5 on the posterior (the reference's float32 vs float64 spread 1e-6), 1e-4 on
// the decode (9e-6 there).
TEST(SdxlVae, PosteriorAndDecodeMatchTheReference) {
  at::NoGradGuard no_grad;
  AutoencoderKL vae = load_vae(testing::testdata() / "sdxl" / "sdxl-tiny" / "vae");
  EXPECT_DOUBLE_EQ(vae->config.scaling_factor, 0.13025);
  EXPECT_TRUE(vae->config.force_upcast);
  EXPECT_EQ(vae->config.downscale_factor(), 8);
  const auto ref = tensors::SafetensorsFile::open(testing::testdata() / "sdxl" / "reference" / "vae_io.safetensors");
  const LatentDistribution square = vae->encode(ref.tensor("image"));
  expect_close("posterior mean", square.mean, ref.tensor("posterior_mean"), 1e-5);
  expect_close("posterior logvar", square.logvar, ref.tensor("posterior_logvar"), 1e-5);
  expect_close("posterior mean 64x96", vae->encode(ref.tensor("image_h64_w96")).mean,
               ref.tensor("posterior_mean_h64_w96"), 1e-5);
  expect_close("decode", vae->decode(ref.tensor("decode_latent")), ref.tensor("decode_out"), 1e-4);
  expect_close("decode 8x12", vae->decode(ref.tensor("decode_latent_h8_w12")), ref.tensor("decode_out_h8_w12"), 1e-4);
}

}  // namespace
}  // namespace pawtrait::models
