// A VAE given apart from the model (--vae) in each layout people download: a diffusers vae/
// folder, a file in diffusers' names, a file in the original LDM names with or without
// "first_stage_model.". Each loads tensor for tensor as the model's own, and a model loaded
// with one decodes with it.
#include <ATen/ATen.h>

#include "families/sdxl/sdxl_model.h"
#include "models/autoencoder_kl_config.h"
#include "models/vae_file.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

fs::path sdxl() { return testing::testdata() / "sdxl"; }

void expect_same(const AutoencoderKL& a, const AutoencoderKL& b, const std::string& what) {
  const auto right = b->named_parameters(true);
  ASSERT_EQ(a->named_parameters(true).size(), right.size()) << what;
  for (const auto& item : a->named_parameters(true)) {
    const at::Tensor* other = right.find(item.key());
    ASSERT_NE(other, nullptr) << what << ": " << item.key();
    EXPECT_TRUE(at::equal(item.value(), *other)) << what << ": " << item.key();
  }
}

class VaeFile : public testing::TempDirTest {
 protected:
  // The single file's VAE tensors, under `prefix` instead of "first_stage_model.".
  fs::path ldm_file(const std::string& name, const std::string& prefix, double scale = 1.0) {
    const auto single = tensors::SafetensorsFile::open(sdxl() / "sdxl-tiny-single.safetensors");
    tensors::NamedTensors out;
    for (const auto& entry : single.entries()) {
      if (!entry.name.starts_with("first_stage_model.")) continue;
      out.emplace_back(prefix + entry.name.substr(18), single.tensor(entry.name) * scale);
    }
    tensors::write_safetensors(path(name), out);
    return path(name);
  }
};

TEST_F(VaeFile, EveryLayoutLoadsAsTheModelsOwn) {
  const AutoencoderKLConfig config = AutoencoderKLConfig::load(sdxl() / "sdxl-tiny" / "vae" / "config.json");
  const AutoencoderKL own = load_vae(sdxl() / "sdxl-tiny" / "vae");
  expect_same(load_vae_file(sdxl() / "sdxl-tiny" / "vae", config, {}), own, "folder");
  expect_same(load_vae_file(sdxl() / "sdxl-tiny" / "vae" / "diffusion_pytorch_model.safetensors", config, {}), own,
              "diffusers names");
  expect_same(load_vae_file(ldm_file("ldm.safetensors", ""), config, {}), own, "LDM names");
  expect_same(load_vae_file(ldm_file("prefixed.safetensors", "first_stage_model."), config, {}), own,
              "LDM names with first_stage_model.");
  EXPECT_EQ(vae_file_config(sdxl() / "sdxl-tiny" / "vae", AutoencoderKLConfig{}).scaling_factor, 0.13025);
}

TEST_F(VaeFile, WhatIsNotAVaeIsRefusedSayingWhy) {
  const AutoencoderKLConfig config = AutoencoderKLConfig::load(sdxl() / "sdxl-tiny" / "vae" / "config.json");
  EXPECT_THROW_MESSAGE(load_vae_file(sdxl() / "sdxl-tiny" / "unet" / "diffusion_pytorch_model.safetensors", config, {}),
                       "neither diffusers'", "is it a VAE file?");
  EXPECT_THROW_MESSAGE(load_vae_file(path("missing.safetensors"), config, {}), "does not exist");
  write_bytes("vae.pt", "not a pickle");
  EXPECT_THROW_MESSAGE(load_vae_file(path("vae.pt"), config, {}), "pickle");
  // The SD VAE's four levels do not fit a two-level config: the loader names the misfit.
  AutoencoderKLConfig smaller = config;
  smaller.block_out_channels = {8, 16};
  EXPECT_THROW_MESSAGE(load_vae_file(ldm_file("ldm.safetensors", ""), smaller, {}), "VAE ldm.safetensors");
}

TEST_F(VaeFile, TheModelDecodesWithTheGivenVae) {
  const fs::path halved = ldm_file("halved.safetensors", "", 0.5);
  families::LoadOptions options;
  options.vae = halved;
  const families::StableDiffusionXL model = families::load_sdxl(sdxl() / "sdxl-tiny", options);
  const auto file = tensors::SafetensorsFile::open(halved);
  EXPECT_TRUE(at::equal(model.vae->post_quant_conv->weight, file.tensor("post_quant_conv.weight")));
  options.model_config = sdxl() / "sdxl-tiny";
  const families::StableDiffusionXL single = families::load_sdxl(sdxl() / "sdxl-tiny-single.safetensors", options);
  EXPECT_TRUE(at::equal(single.vae->post_quant_conv->weight, file.tensor("post_quant_conv.weight")));
}

}  // namespace
}  // namespace pawtrait::models
