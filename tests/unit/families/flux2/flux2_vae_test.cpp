// The klein VAE (AutoencoderKLFlux2) and the pipeline's latent glue against
// ../shared/testdata/klein/reference/vae_io.safetensors: the posterior, patchify, the
// batch-norm statistics, packing, and the decode path from packed tokens to pixels.
#include <ATen/ATen.h>

#include "families/flux2/flux2_latents.h"
#include "models/component_loader.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/flux2/flux2_test_support.h"

namespace pawtrait::families {
namespace {

using flux2_testing::expect_close;
using flux2_testing::klein;
namespace latents = flux2_latents;

const tensors::SafetensorsFile& io() {
  static const auto file = tensors::SafetensorsFile::open(klein() / "reference" / "vae_io.safetensors");
  return file;
}

// 1e-5: module outputs (README; fp32-vs-fp64 spread 9.3e-7 on the posterior, 1.9e-6 on decode).
constexpr double kAtol = 1e-5;

TEST(KleinVae, EncodesPatchifiesAndNormalisesAsThePipeline) {
  at::NoGradGuard no_grad;
  models::AutoencoderKL vae = models::load_vae(klein() / "klein-tiny" / "vae");
  EXPECT_EQ(vae->config.latent_channels, 32);
  EXPECT_TRUE(vae->config.latent_batch_norm);
  EXPECT_EQ(vae->config.patched_latent_channels(), 128);
  EXPECT_DOUBLE_EQ(vae->config.batch_norm_eps, 1e-4);
  const models::LatentDistribution posterior = vae->encode(io().tensor("image"));
  expect_close("posterior mean", posterior.mean, io().tensor("posterior_mean"), kAtol);
  expect_close("posterior logvar", posterior.logvar, io().tensor("posterior_logvar"), kAtol);
  expect_close("posterior std", posterior.std, io().tensor("posterior_std"), kAtol);
  // The glue alone, on the reference's own inputs: moving data is exact; the normalisation is
  // arithmetic, held to the README's module bound (its sqrt and division are within an ulp on
  // every CPU, bit-equal on some).
  EXPECT_TRUE(at::equal(latents::patchify(io().tensor("latent_mode")), io().tensor("patchified")));
  EXPECT_TRUE(at::equal(vae->bn->running_mean, io().tensor("bn_running_mean")));
  EXPECT_TRUE(at::equal(vae->bn->running_var, io().tensor("bn_running_var")));
  expect_close("normalize", latents::normalize(io().tensor("patchified"), vae), io().tensor("normalized"), kAtol);
  EXPECT_TRUE(at::equal(latents::pack(io().tensor("normalized")), io().tensor("packed")));
  expect_close("encode_image", latents::encode_image(io().tensor("image"), vae), io().tensor("normalized"), kAtol);
}

TEST(KleinVae, DecodesPackedTokensAsThePipeline) {
  at::NoGradGuard no_grad;
  models::AutoencoderKL vae = models::load_vae(klein() / "klein-tiny" / "vae");
  const at::Tensor packed = io().tensor("decode_in_packed");
  EXPECT_TRUE(at::equal(latents::unpack(packed, 8, 12), io().tensor("decode_unpacked")));
  expect_close("denormalize", latents::denormalize(io().tensor("decode_unpacked"), vae),
               io().tensor("decode_denormalized"), kAtol);
  EXPECT_TRUE(at::equal(latents::unpatchify(io().tensor("decode_denormalized")), io().tensor("decode_unpatchified")));
  const at::Tensor vae_latents = latents::to_vae_latents(packed, 8, 12, vae);
  expect_close("to_vae_latents", vae_latents, io().tensor("decode_unpatchified"), kAtol);
  expect_close("decode", vae->decode(vae_latents), io().tensor("decode_out"), kAtol);
  expect_close("roundtrip", vae->decode(latents::unpatchify(io().tensor("patchified"))),
               io().tensor("roundtrip_decode_of_mode"), kAtol);
  EXPECT_TRUE(at::equal(latents::image_position_ids(8, 12), io().tensor("decode_latent_ids")));
}

TEST(KleinVae, RefusesWhatDoesNotFit) {
  at::NoGradGuard no_grad;
  EXPECT_THROW_MESSAGE(latents::patchify(at::zeros({1, 32, 5, 6})), "even height and width", "5x6");
  EXPECT_THROW_MESSAGE(latents::unpack(at::zeros({1, 10, 128}), 3, 4), "10 tokens", "3x4");
  models::AutoencoderKL sd_vae = models::load_vae(testing::testdata() / "sd-tiny" / "vae");
  EXPECT_TRUE(sd_vae->bn.is_empty());
  EXPECT_THROW_MESSAGE(latents::normalize(at::zeros({1, 16, 2, 2}), sd_vae), "AutoencoderKLFlux2");
}

}  // namespace
}  // namespace pawtrait::families
