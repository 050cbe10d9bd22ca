// SDXL LoRA files as people get them, merged into the tiny SDXL and checked against the
// reference's UNet output after pipe.load_lora_weights(file) (../shared/testdata/sdxl/
// reference/lora_infer.safetensors): diffusers' file from train_dreambooth_lora_sdxl.py, its
// kohya conversion (diffusers module names), kohya's own SGM names, and a strong synthetic one
// with alpha 2 on every Linear of the transformers (scale 0.5).
#include <ATen/ATen.h>

#include "families/sdxl/sdxl_lora.h"
#include "families/sdxl/sdxl_model.h"
#include "models/lora.h"
#include "models/lora_export.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/sdxl/sdxl_test_support.h"

namespace pawtrait::families {
namespace {

using sdxl_testing::expect_close;
using sdxl_testing::sdxl;

class SdxlLoraFiles : public pawtrait::testing::TempDirTest {
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

// Written back in kohya's SDXL layout, the trained LoRA is the reference's SGM-named file
// tensor for tensor (names, shapes, values; alpha 4.0 float32); in the PEFT layout it merges
// as the reference file does.
TEST_F(SdxlLoraFiles, ExportsInKohyaSdxlAndPeftLayouts) {
  const auto lora_dir = sdxl() / "reference" / "lora";
  const models::LoraFile trained = models::load_lora(lora_dir / "pytorch_lora_weights.safetensors");
  const auto kohya = path("kohya.safetensors");
  models::save_lora_kohya(kohya, trained.layers, {}, sdxl_kohya_names(model_->modules().unet->config));
  const auto ours = tensors::SafetensorsFile::open(kohya);
  const auto theirs = tensors::SafetensorsFile::open(lora_dir / "pytorch_lora_weights_kohya_sgm.safetensors");
  ASSERT_EQ(ours.entries().size(), theirs.entries().size());
  for (const auto& entry : theirs.entries()) {
    ASSERT_TRUE(ours.contains(entry.name)) << entry.name;
    EXPECT_TRUE(at::equal(ours.tensor(entry.name), theirs.tensor(entry.name))) << entry.name;
  }
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "lora_infer.safetensors");
  const auto peft = path("pytorch_lora_weights.safetensors");
  models::save_lora_peft(peft, trained.layers);
  for (const auto& file : {kohya, peft}) {
    const auto applied = model_->apply_lora(file.string(), 1.0);
    expect_close(file.filename().string(), unet_at_t501(), ref.tensor("after_load_lora_weights.diffusers_file"), 1e-5);
  }
  // Text-encoder layers get lora_te1_/lora_te2_ in the SDXL layout; a UNet module without an
  // original name is refused rather than written under a name no reader maps.
  models::LoraLayer te2 = trained.layers.front();
  te2.component = "text_encoder_2";
  te2.module = "text_model.encoder.layers.0.self_attn.q_proj";
  models::LoraLayer te1 = te2;
  te1.component = "text_encoder";
  models::save_lora_kohya(path("te.safetensors"), {te1, te2}, {}, sdxl_kohya_names(model_->modules().unet->config));
  const auto te = tensors::SafetensorsFile::open(path("te.safetensors"));
  EXPECT_TRUE(te.contains("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"));
  EXPECT_TRUE(te.contains("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight"));
  models::LoraLayer odd = trained.layers.front();
  odd.module = "no_such_block.0";
  EXPECT_THROW_MESSAGE(
      models::save_lora_kohya(path("odd.safetensors"), {odd}, {}, sdxl_kohya_names(model_->modules().unet->config)),
      "no name in the original layout");
}

}  // namespace
}  // namespace pawtrait::families
