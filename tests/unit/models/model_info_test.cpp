#include "models/model_info.h"

#include <ATen/ATen.h>

#include "tensors/safetensors_writer.h"

#include "test_support.h"

namespace pawtrait::models {
namespace {

const ComponentInfo& component(const ModelInfo& info, const std::string& name) {
  for (const auto& c : info.components) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no component " + name);
}

// The parameter counts that ../shared/testdata/README.md gives for the tiny model.
TEST(ModelInfo, TinyDiffusersFolder) {
  ModelInfo info = inspect_model(testing::testdata() / "sd-tiny");
  EXPECT_EQ(info.format, "diffusers folder");
  EXPECT_EQ(component(info, "unet").parameters, 1427012);
  EXPECT_EQ(component(info, "vae").parameters, 658375);
  EXPECT_EQ(component(info, "text_encoder").parameters, 1617529);
  EXPECT_EQ(component(info, "unet").class_name, "UNet2DConditionModel");
  EXPECT_EQ(component(info, "unet").dtypes.at("F32"), 1427012);
  EXPECT_EQ(component(info, "tokenizer").files.size(), 2u);
  EXPECT_EQ(info.scheduler_config.at("beta_schedule"), "scaled_linear");
  EXPECT_EQ(info.scheduler_config.at("steps_offset"), 1);
  EXPECT_NE(info.family.find("cross_attention_dim 32"), std::string::npos) << info.family;
}

TEST(ModelInfo, TinySingleFileCheckpointHasTheSameCounts) {
  ModelInfo info = inspect_model(testing::testdata() / "sd-tiny-single.safetensors");
  EXPECT_EQ(info.format, "single-file checkpoint");
  EXPECT_EQ(component(info, "unet").parameters, 1427012);
  EXPECT_EQ(component(info, "vae").parameters, 658375);
  EXPECT_EQ(component(info, "text_encoder").parameters, 1617529);
  EXPECT_EQ(info.components.size(), 3u);  // nothing left over in "other"
}

// Other kinds are named, from model_index.json or the tensor names, and said when Pawtrait
// does not run them yet.
TEST(ModelInfo, NamesKindsThatAreNotSupportedYet) {
  EXPECT_EQ(inspect_model(testing::testdata() / "sdxl" / "sdxl-tiny").family, "Stable Diffusion XL");
  const ModelInfo single = inspect_model(testing::testdata() / "sdxl" / "sdxl-tiny-single.safetensors");
  EXPECT_EQ(single.family, "Stable Diffusion XL");
  // The README's parameter counts of sdxl-tiny, from the SGM names alone.
  EXPECT_EQ(component(single, "unet").parameters, 768324);
  EXPECT_EQ(component(single, "vae").parameters, 334383);
  EXPECT_EQ(component(single, "text_encoder").parameters, 399724);
  EXPECT_EQ(component(single, "text_encoder_2").parameters, 806761);
  const ModelInfo klein = inspect_model(testing::testdata() / "klein" / "klein-tiny");
  EXPECT_EQ(klein.family, "FLUX.2 [klein]");
  // klein/README.md's parameter counts (the VAE's batch-norm statistics are not parameters).
  EXPECT_EQ(component(klein, "transformer").parameters, 280544);
  EXPECT_EQ(component(klein, "text_encoder").parameters, 546208);
  EXPECT_EQ(component(klein, "vae").parameters, 197331);
  // Qwen3's tokenizer is its tokenizer.json: the 3072 tokens of its BPE vocabulary and the 26
  // added ones after them (<|endoftext|>, <|im_start|>, ...), as klein/README.md counts them.
  EXPECT_EQ(component(klein, "tokenizer").note, "vocabulary of 3,072 tokens and 26 added");
  EXPECT_EQ(component(klein, "tokenizer").files, std::vector<std::string>{"tokenizer/tokenizer.json"});
}

TEST(ModelInfo, RecognisesALoraFile) {
  ModelInfo info = inspect_model(testing::testdata() / "reference" / "lora" / "pytorch_lora_weights.safetensors");
  EXPECT_EQ(info.format, "LoRA");
  EXPECT_EQ(component(info, "lora").parameters, 23040);
  EXPECT_EQ(info.family, "diffusers/PEFT key names");
}

TEST(ModelInfo, JsonCarriesTheSame) {
  nlohmann::json json = to_json(inspect_model(testing::testdata() / "sd-tiny"));
  int found = 0;
  for (const auto& c : json.at("components")) {
    if (c.at("name") == "unet") {
      EXPECT_EQ(c.at("parameters"), 1427012);
      ++found;
    }
  }
  EXPECT_EQ(found, 1);
  EXPECT_EQ(json.at("scheduler").at("_class_name"), "DDIMScheduler");
}

TEST(ModelInfo, RefusesWhatItCannotRead) {
  EXPECT_THROW_MESSAGE(inspect_model("/nonexistent/model"), "no such file or folder");
  EXPECT_THROW_MESSAGE(inspect_model(testing::testdata() / "sd-tiny" / "unet"), "not a diffusers model folder",
                       "model_index.json");
  EXPECT_THROW_MESSAGE(inspect_model(testing::testdata() / "sd-tiny" / "unet" / "config.json"), "config.json");
}

class ModelInfoFiles : public testing::TempDirTest {};

TEST_F(ModelInfoFiles, ALoraInFluxsOriginalNamesSaysSo) {
  const auto file = path("comfy.safetensors");
  tensors::write_safetensors(file,
                             {{"diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight", at::zeros({4, 8})},
                              {"diffusion_model.double_blocks.0.img_attn.qkv.lora_B.weight", at::zeros({24, 4})}});
  const ModelInfo info = inspect_model(file);
  EXPECT_EQ(info.format, "LoRA");
  EXPECT_EQ(info.family, "Black Forest Labs key names (FLUX, as ComfyUI and ai-toolkit write them)");
}

TEST_F(ModelInfoFiles, PickleCheckpointsAreRefused) {
  auto ckpt = write_bytes("model.ckpt", "PK\x03\x04 pretend zip of pickles");
  EXPECT_THROW_MESSAGE(inspect_model(ckpt), "model.ckpt", "pickle", "can run code", "safetensors");
}

}  // namespace
}  // namespace pawtrait::models
