// The family registry and the DiffusionModel contract: every model is found by the family
// that claims it (or refused by name), and the pipeline over the interface draws what each
// family's own sampler draws.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <fstream>
#include <set>

#include "common/error.h"
#include "families/builtin/builtin_model.h"
#include "families/builtin/pixel_model.h"
#include "families/diffusion_model.h"
#include "families/model_family.h"
#include "families/stable_diffusion/stable_diffusion_model.h"
#include "pipeline/text_to_image.h"
#include "test_support.h"

namespace pawtrait::families {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& relative) { return (testing::testdata() / relative).string(); }

TEST(ModelFamilies, EveryEntryIsComplete) {
  std::set<std::string> names;
  for (const ModelFamily& f : model_families()) {
    EXPECT_TRUE(names.insert(f.name).second) << "two families are called " << f.name;
    EXPECT_TRUE(f.claims && f.describe && f.load && f.location) << f.name;
  }
  EXPECT_GE(names.size(), 2u);
}

TEST(ModelFamilies, EachModelIsClaimedByItsFamily) {
  EXPECT_EQ(family_of("builtin:/some/run").name, "built-in");
  EXPECT_EQ(family_of("builtin").name, "built-in");
  EXPECT_EQ(family_of(data("sd-tiny")).name, "Stable Diffusion 1.x/2.x");
  EXPECT_EQ(family_of(data("sd-tiny-single.safetensors")).name, "Stable Diffusion 1.x/2.x");
  EXPECT_EQ(family_of(data("sdxl/sdxl-tiny")).name, "Stable Diffusion XL");
  EXPECT_EQ(family_of(data("sdxl/sdxl-tiny-single.safetensors")).name, "Stable Diffusion XL");
  EXPECT_EQ(family_of(data("sdxl/sdxl-tiny")).describe(data("sdxl/sdxl-tiny"), std::nullopt).image_size, 64);
  EXPECT_EQ(family_of(data("sd-tiny")).describe(data("sd-tiny"), std::nullopt).image_size, 64);
}

// The model picker shows these before loading anything; generating fills them in after.
TEST(ModelFamilies, ADescriptionsDefaultsAreTheLoadedModels) {
  for (const std::string& model :
       {data("sd-tiny"), data("sdxl/sdxl-tiny"), data("klein/klein-tiny"), data("klein/klein-base-tiny")}) {
    const ModelFamily& family = family_of(model);
    const FamilyDescription d = family.describe(model, std::nullopt);
    const GenerateDefaults loaded = family.load(model, {})->defaults();
    EXPECT_EQ(d.sampler, loaded.sampler) << model;
    EXPECT_EQ(d.steps, loaded.steps) << model;
    EXPECT_EQ(d.size_conditioned, family.name == "Stable Diffusion XL") << model;
    // The trainer's own rule (train_flux2_dreambooth): klein checkpoints on a GPU by default.
    EXPECT_EQ(d.checkpoints_on_gpu, family.name == "FLUX.2 [klein]") << model;
  }
  EXPECT_EQ(family_of(data("sdxl/sdxl-tiny")).describe(data("sdxl/sdxl-tiny"), std::nullopt).sampler, "euler");
  EXPECT_EQ(family_of("builtin").describe("builtin", std::nullopt).sampler, "ddpm");
}

TEST(ModelFamilies, WhatNoFamilyClaimsIsRefusedSayingWhatItIs) {
  // FLUX.2 [dev] (Flux2Pipeline) is known by name but not supported.
  const fs::path dev = fs::temp_directory_path() / ("pawtrait-flux2-dev-" + std::to_string(::getpid()));
  fs::create_directories(dev);
  std::ofstream(dev / "model_index.json") << R"({"_class_name": "Flux2Pipeline"})";
  EXPECT_THROW_MESSAGE(family_of(dev.string()), "is a FLUX.2 [dev] model", "not supported yet");
  fs::remove_all(dev);
  EXPECT_EQ(family_of(data("klein/klein-tiny")).name, "FLUX.2 [klein]");
  EXPECT_THROW_MESSAGE(family_of(data("no-such-model")), "no-such-model does not exist");
  // The untrained built-in model has no weights to draw with.
  EXPECT_THROW_MESSAGE(family_of("builtin").load("builtin", {}), "builtin:RUN_DIR");
}

class StableDiffusionContract : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = StableDiffusionModel::load(data("sd-tiny"), {}).release(); }
  static void TearDownTestSuite() { delete model_; }
  static StableDiffusionModel* model_;
};
StableDiffusionModel* StableDiffusionContract::model_ = nullptr;

TEST_F(StableDiffusionContract, ShapesFollowTheLatentFormat) {
  c10::InferenceMode inference;
  const models::Architecture& a = model_->modules().architecture;
  const LatentFormat& f = model_->latent_format();
  EXPECT_EQ(f.channels, a.unet.in_channels);
  EXPECT_EQ(f.spatial_factor, a.vae.downscale_factor());
  EXPECT_EQ(f.size_multiple, 8);
  EXPECT_DOUBLE_EQ(f.scaling_factor, a.vae.scaling_factor);
  EXPECT_TRUE(model_->prompted());
  EXPECT_EQ(model_->defaults().size, 64);

  const Conditioning c = model_->encode("a photo of sks dog", {}, {});
  ASSERT_EQ(c.tensors.size(), 1u);
  EXPECT_EQ(c.at("context").sizes(), (std::vector<std::int64_t>{1, 77, a.text_encoder.hidden_size}));
  EXPECT_THROW_MESSAGE(c.at("pooled"), "no tensor \"pooled\"");

  const std::int64_t side = 64 / f.spatial_factor;
  const at::Tensor x = at::randn({2, f.channels, side, side}, at::kFloat);
  const at::Tensor out = model_->predict(x, at::scalar_tensor(500.0), c.expand(2));
  EXPECT_EQ(out.sizes(), x.sizes());
  // decode() takes the sampler's latents: the VAE sees them divided by the scaling factor.
  const at::Tensor pixels = model_->decode(x);
  EXPECT_EQ(pixels.sizes(), (std::vector<std::int64_t>{2, 3, 64, 64}));
  EXPECT_TRUE(at::equal(pixels, model_->modules().vae->decode(x / f.scaling_factor)));
}

TEST(ConditioningTensors, ExpandAndCatKeepTheNamesAndIds) {
  Conditioning a{{{"context", at::ones({1, 3, 2})}, {"ids", at::arange(3, at::kLong).view({1, 3})}}};
  Conditioning b{{{"context", at::zeros({1, 3, 2})}, {"ids", at::arange(3, at::kLong).view({1, 3})}}};
  const Conditioning both = Conditioning::cat(a.expand(2), b.expand(2));
  EXPECT_EQ(both.at("context").sizes(), (std::vector<std::int64_t>{4, 3, 2}));
  EXPECT_EQ(both.at("context")[1].sum().item<double>(), 6.0);
  EXPECT_EQ(both.at("context")[2].sum().item<double>(), 0.0);
  const Conditioning half = both.to(at::TensorOptions().dtype(at::kHalf));
  EXPECT_EQ(half.at("context").scalar_type(), at::kHalf);
  EXPECT_EQ(half.at("ids").scalar_type(), at::kLong);  // ids are not cast to the weights' dtype
  EXPECT_THROW_MESSAGE(Conditioning::cat(a, Conditioning{}), "no tensor \"context\"");
}

training::PixelModel small_pixel_model() {
  training::PixelModel m;
  m.config.resolution = 16;
  m.config.block_out_channels = {16, 32};
  m.config.attention_levels = {1};
  m.config.norm_num_groups = 8;
  at::manual_seed(7);
  m.unet = models::PixelUNet(m.config);
  m.unet->eval();
  return m;
}

// The built-in model through the generic pipeline draws what its own sampler draws (its
// pictures did not change when it moved behind the interface), alone and in a batch.
TEST(BuiltinThroughThePipeline, DrawsWhatItsOwnSamplerDraws) {
  training::PixelModel own = small_pixel_model();
  BuiltinModel model(small_pixel_model());
  pipeline::TextToImage t2i(model);
  pipeline::GenerateRequest r;
  r.model = "builtin:test";
  r.sampler = "ddpm";
  r.steps = 6;
  r.width = r.height = 16;
  r.seed = 11;
  r.count = 2;
  r.prompt = "ignored: the model is unconditional";
  const auto images = t2i.generate(r);
  ASSERT_EQ(images.size(), 2u);
  for (std::uint64_t i = 0; i < 2; ++i) {
    const auto expected = training::sample_pixel_model(own, "ddpm", 6, 11 + i, 1);
    EXPECT_EQ(images[i].rgb, expected[0]) << "image " << i;
  }
  EXPECT_EQ(t2i.last_timings().unet_calls, 12);  // no unconditional pass: nothing to guide
  EXPECT_THROW_MESSAGE(model.apply_lora("some.safetensors", 1.0), "the built-in model takes no LoRA");
}

}  // namespace
}  // namespace pawtrait::families
