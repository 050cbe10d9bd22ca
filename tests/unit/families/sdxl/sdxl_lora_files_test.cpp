// SDXL LoRA files as people get them, merged into the tiny SDXL and checked against the
// reference's UNet output after pipe.load_lora_weights(file) (../shared/testdata/sdxl/
// reference/lora_infer.safetensors): diffusers' file from train_dreambooth_lora_sdxl.py, its
// kohya conversion (diffusers module names), kohya's own SGM names, and a strong synthetic one
// with alpha 2 on every Linear of the transformers (scale 0.5).
#include <ATen/ATen.h>

#include "families/sdxl/sdxl_model.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/sdxl/sdxl_test_support.h"

namespace pawtrait::families {
namespace {

using sdxl_testing::expect_close;
using sdxl_testing::sdxl;

class SdxlLoraFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new StableDiffusionXLModel(load_sdxl(sdxl() / "sdxl-tiny", {})); }
  static void TearDownTestSuite() { delete model_; }

  // The UNet at unet_io's t501 inputs.
  static at::Tensor unet_at_t501() {
    at::NoGradGuard no_grad;
    const auto io = tensors::SafetensorsFile::open(sdxl() / "reference" / "unet_io.safetensors");
    return model_->modules().unet->forward(io.tensor("t501.sample"), io.tensor("t501.timestep"),
                                           io.tensor("t501.encoder_hidden_states"), io.tensor("t501.text_embeds"),
                                           io.tensor("t501.time_ids"));
  }
  static StableDiffusionXLModel* model_;
};
StableDiffusionXLModel* SdxlLoraFiles::model_ = nullptr;

// Module outputs: the README's 1e-5, ten times the reference's own spread on the UNet.
TEST_F(SdxlLoraFiles, EveryLayoutMovesTheUNetAsTheReferenceLoadsIt) {
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "lora_infer.safetensors");
  const at::Tensor base = unet_at_t501();
  expect_close("base", base, ref.tensor("base"), 1e-5);
  struct Case {
    const char* file;
    const char* reference;
    const char* format;
  };
  for (const Case& c : {Case{"pytorch_lora_weights.safetensors", "diffusers_file", "diffusers-legacy"},
                        Case{"pytorch_lora_weights_kohya.safetensors", "kohya_file", "kohya"},
                        Case{"pytorch_lora_weights_kohya_sgm.safetensors", "kohya_sgm_file", "kohya"},
                        Case{"synthetic_kohya_sgm_r4_alpha2.safetensors", "synthetic_kohya_sgm", "kohya"}}) {
    SCOPED_TRACE(c.file);
    {
      const auto lora = model_->apply_lora((sdxl() / "reference" / "lora" / c.file).string(), 1.0);
      EXPECT_EQ(lora->format, c.format);
      EXPECT_GT(lora->layers, 0);
      expect_close(c.file, unet_at_t501(), ref.tensor(std::string("after_load_lora_weights.") + c.reference), 1e-5);
    }
    // Gone again when released: the base model, bit for bit.
    EXPECT_TRUE(at::equal(unet_at_t501(), base));
  }
  // The trained LoRA moves the output by 0.0017 (README): far more than the bound above.
  EXPECT_GT((ref.tensor("after_load_lora_weights.diffusers_file") - ref.tensor("base")).abs().max().item<double>(),
            1e-3);
}

// The strength scales the merged update: at 0.5 a weight moves half as far as at 1.
TEST_F(SdxlLoraFiles, HalfStrengthIsHalfTheUpdate) {
  const std::string file = (sdxl() / "reference" / "lora" / "synthetic_kohya_sgm_r4_alpha2.safetensors").string();
  auto weight = [] {
    return model_->modules().unet->named_parameters()["down_blocks.1.attentions.0.proj_in.weight"].detach().clone();
  };
  const at::Tensor base = weight();
  at::Tensor full, half;
  {
    const auto lora = model_->apply_lora(file, 1.0);
    full = weight();
  }
  {
    const auto lora = model_->apply_lora(file, 0.5);
    half = weight();
  }
  EXPECT_GT((full - base).abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(at::allclose(half - base, (full - base) * 0.5, 1e-5, 1e-7));
}

// An SD 1.x LoRA names layers SDXL lacks or shapes that differ: refused, nothing changed.
TEST_F(SdxlLoraFiles, AnSdLoraIsRefusedAsMadeForAnotherArchitecture) {
  const at::Tensor before = unet_at_t501();
  const auto sd_lora = pawtrait::testing::testdata() / "reference" / "lora" / "pytorch_lora_weights.safetensors";
  EXPECT_THROW_MESSAGE(model_->apply_lora(sd_lora.string(), 1.0), "made for another architecture");
  EXPECT_TRUE(at::equal(unet_at_t501(), before));
}

}  // namespace
}  // namespace pawtrait::families
