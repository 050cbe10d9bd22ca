// Single-file SDXL checkpoints (the SGM layout diffusers' conversion script writes, which
// A1111, ComfyUI and community fine-tunes use): the tiny file equals the diffusers folder
// tensor for tensor, and files without configs are told apart by their shapes.
#include <ATen/ATen.h>

#include <fstream>

#include "families/model_family.h"
#include "families/sdxl/sdxl_model.h"
#include "families/sdxl/sdxl_single_file.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/sdxl/sdxl_test_support.h"

namespace pawtrait::families {
namespace {

namespace fs = std::filesystem;
using sdxl_testing::sdxl;
using Shape = std::vector<std::int64_t>;

fs::path single() { return sdxl() / "sdxl-tiny-single.safetensors"; }

// Every parameter and buffer of two modules: same names, shapes, dtypes and bits.
std::size_t expect_identical(const std::string& what, const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto left = a.named_parameters(true);
  const auto right = b.named_parameters(true);
  EXPECT_EQ(left.size(), right.size()) << what;
  std::size_t same = 0;
  for (const auto& item : left) {
    const at::Tensor* other = right.find(item.key());
    if (other == nullptr) {
      ADD_FAILURE() << what << ": " << item.key() << " only in one";
    } else if (item.value().sizes() != other->sizes() || !at::equal(item.value(), *other)) {
      ADD_FAILURE() << what << ": " << item.key() << " differs";
    } else {
      ++same;
    }
  }
  return same;
}

TEST(SdxlSingleFile, EqualsTheFolderTensorForTensor) {
  const StableDiffusionXL folder = load_sdxl(sdxl() / "sdxl-tiny", {});
  LoadOptions options;
  options.model_config = sdxl() / "sdxl-tiny";  // the file carries no configs (testdata README)
  const StableDiffusionXL file = load_sdxl(single(), options);
  // The testdata README's round trip: unet 618, vae 248, text_encoder 68, text_encoder_2 85.
  EXPECT_EQ(expect_identical("unet", *folder.unet, *file.unet), 618u);
  EXPECT_EQ(expect_identical("vae", *folder.vae, *file.vae), 248u);
  EXPECT_EQ(expect_identical("text_encoder", *folder.text_encoder, *file.text_encoder), 68u);
  EXPECT_EQ(expect_identical("text_encoder_2", *folder.text_encoder_2, *file.text_encoder_2), 85u);
  EXPECT_EQ(file.force_zeros_for_empty_prompt, folder.force_zeros_for_empty_prompt);
  EXPECT_EQ(file.tokenizer_2->pad_id(), 0);
}

TEST(SdxlSingleFile, WithoutConfigsTheTinyShapesAreNamedAndTheFlagGiven) {
  EXPECT_THROW_MESSAGE(load_sdxl(single(), {}), "not in SDXL 1.0 base's shapes", "UNet input [16, 4, 3, 3]",
                       "where SDXL has [320, 4, 3, 3]", "--model-config");
  EXPECT_THROW_MESSAGE(family_of(single().string()).describe(single().string(), std::nullopt),
                       "not in SDXL 1.0 base's shapes");
  EXPECT_EQ(family_of(single().string()).describe(single().string(), sdxl() / "sdxl-tiny").image_size, 64);
}

// Headers in SDXL 1.0 base's shapes over sparse files: the real sizes (a 49,408 × 1,280
// embedding) without the disk space, enough for what detection reads.
class SdxlShapes : public pawtrait::testing::TempDirTest {
 protected:
  static std::vector<std::pair<std::string, Shape>> base() {
    std::vector<std::pair<std::string, Shape>> t = {
        {"model.diffusion_model.input_blocks.0.0.weight", {320, 4, 3, 3}},
        {"model.diffusion_model.label_emb.0.0.weight", {1280, 2816}},
        {"model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", {640, 2048}},
        {"conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", {49408, 768}},
        {"conditioner.embedders.1.model.token_embedding.weight", {49408, 1280}},
        {"conditioner.embedders.1.model.text_projection", {1280, 1280}},
    };
    for (int i = 0; i < 10; ++i) {
      t.push_back(
          {"model.diffusion_model.middle_block.1.transformer_blocks." + std::to_string(i) + ".norm1.weight", {1280}});
    }
    for (int i = 0; i < 12; ++i) {
      t.push_back(
          {"conditioner.embedders.0.transformer.text_model.encoder.layers." + std::to_string(i) + ".layer_norm1.weight",
           {768}});
    }
    for (int i = 0; i < 32; ++i) {
      t.push_back(
          {"conditioner.embedders.1.model.transformer.resblocks." + std::to_string(i) + ".ln_1.weight", {1280}});
    }
    return t;
  }

  fs::path write(const std::string& name, const std::vector<std::pair<std::string, Shape>>& tensors) {
    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const auto& [key, shape] : tensors) {
      std::uint64_t bytes = 2;
      for (const std::int64_t d : shape) bytes *= static_cast<std::uint64_t>(d);
      header[key] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
    }
    const std::string text = header.dump();
    const fs::path file = path(name);
    {
      std::ofstream out(file, std::ios::binary);
      const std::uint64_t size = text.size();
      for (int i = 0; i < 8; ++i) out.put(static_cast<char>((size >> (8 * i)) & 0xff));
      out << text;
    }
    fs::resize_file(file, 8 + text.size() + offset);
    return file;
  }
};

TEST_F(SdxlShapes, BaseShapesGetTheBaseConfigs) {
  const auto file = tensors::SafetensorsFile::open(write("base.safetensors", base()));
  const SdxlConfigs c = detect_sdxl_single_file(file);
  EXPECT_EQ(c.unet.cross_attention_dim, 2048);
  EXPECT_EQ(c.unet.transformer_layers_per_block, (Shape{1, 2, 10}));
  EXPECT_EQ(c.text_encoder_2.num_hidden_layers, 32);
  EXPECT_EQ(c.scheduler.prediction_type.value_or(""), "epsilon");
  EXPECT_FALSE(c.scheduler.rescale_betas_zero_snr.value_or(false));
  EXPECT_NO_THROW(check_sdxl_configs(c, "the base configs"));
  const FamilyDescription d = family_of(file.source()).describe(file.source(), std::nullopt);
  EXPECT_EQ(d.image_size, 1024);
  EXPECT_GE(d.sizes.size(), 7u);  // the square and SDXL's aspect-ratio buckets
}

// Community v-prediction fine-tunes carry marker tensors ("v_pred", "ztsnr"), read as ComfyUI
// reads them.
TEST_F(SdxlShapes, MarkerTensorsSelectVPredictionAndZeroTerminalSnr) {
  auto tensors = base();
  tensors.push_back({"v_pred", {0}});
  const SdxlConfigs v = detect_sdxl_single_file(tensors::SafetensorsFile::open(write("v.safetensors", tensors)));
  EXPECT_EQ(v.scheduler.prediction_type.value_or(""), "v_prediction");
  EXPECT_FALSE(v.scheduler.rescale_betas_zero_snr.value_or(false));
  tensors.push_back({"ztsnr", {0}});
  const SdxlConfigs z = detect_sdxl_single_file(tensors::SafetensorsFile::open(write("z.safetensors", tensors)));
  EXPECT_TRUE(z.scheduler.rescale_betas_zero_snr.value_or(false));
}

TEST_F(SdxlShapes, OtherVariantsAreNamed) {
  auto inpainting = base();
  inpainting[0].second = {320, 9, 3, 3};
  EXPECT_THROW_MESSAGE(detect_sdxl_single_file(tensors::SafetensorsFile::open(write("i.safetensors", inpainting))),
                       "Stable Diffusion XL inpainting checkpoint", "9 input channels", "not supported yet");
  auto edm = base();
  edm.push_back({"edm_mean", {4}});
  EXPECT_THROW_MESSAGE(detect_sdxl_single_file(tensors::SafetensorsFile::open(write("e.safetensors", edm))), "EDM",
                       "not supported yet");
  auto shallow = base();
  shallow.resize(shallow.size() - 32 - 12 - 5);  // a middle block of depth 5, no encoder layers
  EXPECT_THROW_MESSAGE(detect_sdxl_single_file(tensors::SafetensorsFile::open(write("s.safetensors", shallow))),
                       "transformer depth of the middle block 5 where SDXL has 10",
                       "first text encoder layers 0 where SDXL has 12", "--model-config");
}

}  // namespace
}  // namespace pawtrait::families
