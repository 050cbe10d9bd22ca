// Loading the files people have: a diffusers folder, and a single-file checkpoint with the
// original LDM key names, through the pure name-mapping functions.
#include <ATen/ATen.h>

#include "common/error.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "models/checkpoint_keys.h"
#include "models/component_loader.h"
#include "tensors/safetensors_header.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
fs::path tiny() { return testing::testdata() / "sd-tiny"; }
fs::path tiny_single() { return testing::testdata() / "sd-tiny-single.safetensors"; }

void expect_same_parameters(torch::nn::Module& a, torch::nn::Module& b, const char* component) {
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size()) << component;
  for (const auto& item : pa) {
    const at::Tensor* other = pb.find(item.key());
    ASSERT_NE(other, nullptr) << component << " " << item.key();
    EXPECT_TRUE(at::equal(item.value(), *other)) << component << " " << item.key();
  }
}

TEST(CheckpointLoading, SingleFileEqualsTheFolder) {
  at::NoGradGuard no_grad;
  StableDiffusion folder = load_stable_diffusion(tiny());
  StableDiffusionOptions options;
  options.model_config = tiny();
  std::vector<std::string> log;
  options.log = [&](LogLevel, const std::string& line) { log.push_back(line); };
  StableDiffusion single = load_stable_diffusion(tiny_single(), options);
  expect_same_parameters(*folder.unet, *single.unet, "unet");
  expect_same_parameters(*folder.vae, *single.vae, "vae");
  expect_same_parameters(*folder.text_encoder, *single.text_encoder, "text_encoder");
  EXPECT_EQ(single.tokenizer_dir, tiny() / "tokenizer");
  // Every tensor of the file was used by some component.
  for (const auto& line : log) EXPECT_EQ(line.find("unused"), std::string::npos) << line;
}

TEST(CheckpointLoading, FolderArchitecture) {
  Architecture a = read_folder_architecture(tiny());
  EXPECT_EQ(a.family, "custom (cross-attention width 32)");
  EXPECT_EQ(a.prediction_type, "epsilon");
  EXPECT_EQ(a.image_size, 64);  // sample_size 32 × VAE factor 2
}

TEST(CheckpointLoading, NonStandardSingleFileAsksForAConfig) {
  EXPECT_THROW_MESSAGE(load_stable_diffusion(tiny_single()), "sd-tiny-single.safetensors",
                       "not have the tensor layout of a standard", "--model-config");
}

TEST(CheckpointLoading, PickleIsRefusedWithAReason) {
  const fs::path ckpt = fs::temp_directory_path() / "pawtrait-model.ckpt";
  { std::ofstream(ckpt) << "not opened"; }
  EXPECT_THROW_MESSAGE(load_stable_diffusion(ckpt), "pickle", "run arbitrary code", ".safetensors");
  fs::remove(ckpt);
}

class CheckpointErrors : public testing::TempDirTest {};

TEST_F(CheckpointErrors, MissingTensorNamesComponentTensorAndFile) {
  tensors::SafetensorsFile source = tensors::SafetensorsFile::open(tiny_single());
  tensors::NamedTensors kept;
  for (const auto& entry : source.entries()) {
    if (entry.name != "model.diffusion_model.input_blocks.4.1.proj_in.weight")
      kept.emplace_back(entry.name, source.tensor(entry));
  }
  tensors::write_safetensors(path("broken.safetensors"), kept);
  StableDiffusionOptions options;
  options.model_config = tiny();
  EXPECT_THROW_MESSAGE(load_stable_diffusion(path("broken.safetensors"), options), "unet:", "broken.safetensors",
                       "down_blocks.1.attentions.0.proj_in.weight",
                       "model.diffusion_model.input_blocks.4.1.proj_in.weight");
}

TEST_F(CheckpointErrors, TruncatedFileIsNamed) {
  const std::string bytes = read_bytes(tiny_single());
  const fs::path cut = write_bytes("cut.safetensors", bytes.substr(0, bytes.size() / 2));
  StableDiffusionOptions options;
  options.model_config = tiny();
  EXPECT_THROW_MESSAGE(load_stable_diffusion(cut, options), "cut.safetensors", "past the end");
}

// A folder with fp16 variant files (as the hub's "fp16" revisions have) and a damaged one.
class FolderVariants : public testing::TempDirTest {
 protected:
  void copy_tiny() {
    fs::copy(tiny(), path("model"), fs::copy_options::recursive);
    for (auto& entry : fs::recursive_directory_iterator(path("model"))) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }
};

TEST_F(FolderVariants, Fp16VariantFilesLoad) {
  at::NoGradGuard no_grad;
  copy_tiny();
  const fs::path unet_file = path("model/unet/diffusion_pytorch_model.safetensors");
  tensors::NamedTensors half;
  {
    tensors::SafetensorsFile full = tensors::SafetensorsFile::open(unet_file);
    for (const auto& entry : full.entries()) half.emplace_back(entry.name, full.tensor(entry).to(at::kHalf));
  }
  tensors::write_safetensors(path("model/unet/diffusion_pytorch_model.fp16.safetensors"), half);
  ComponentLoadOptions options;
  options.variant = "fp16";
  UNet2DConditionModel unet = load_unet(path("model/unet"), options);
  auto params = unet->named_parameters();
  for (const auto& [name, tensor] : half) {
    ASSERT_NE(params.find(name), nullptr) << name;
    EXPECT_EQ(params[name].scalar_type(), at::kFloat);
    EXPECT_TRUE(at::equal(params[name], tensor.to(at::kFloat))) << name;  // the fp16 values, widened
  }
}

TEST_F(FolderVariants, TruncatedComponentFileNamesComponentAndFile) {
  copy_tiny();
  const fs::path vae_file = path("model/vae/diffusion_pytorch_model.safetensors");
  const std::string bytes = read_bytes(vae_file);
  write_bytes("model/vae/diffusion_pytorch_model.safetensors", bytes.substr(0, bytes.size() - 4096));
  EXPECT_THROW_MESSAGE(load_stable_diffusion(path("model")), "vae:", "diffusion_pytorch_model.safetensors",
                       "past the end of the data");
}

// SD 1.5's layout, spot-checked against names in the published checkpoints.
TEST(CheckpointKeys, StableDiffusion15Unet) {
  UNet2DConditionConfig c;  // diffusers' defaults are SD 1.x's layout
  c.cross_attention_dim = 768;
  auto ldm = [&](const std::string& name) { return ldm_unet_source(name, c).name; };
  EXPECT_EQ(ldm("conv_in.weight"), "input_blocks.0.0.weight");
  EXPECT_EQ(ldm("time_embedding.linear_2.bias"), "time_embed.2.bias");
  EXPECT_EQ(ldm("down_blocks.0.resnets.1.conv1.weight"), "input_blocks.2.0.in_layers.2.weight");
  EXPECT_EQ(ldm("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"),
            "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight");
  EXPECT_EQ(ldm("down_blocks.0.downsamplers.0.conv.weight"), "input_blocks.3.0.op.weight");
  EXPECT_EQ(ldm("down_blocks.1.resnets.0.conv_shortcut.weight"), "input_blocks.4.0.skip_connection.weight");
  EXPECT_EQ(ldm("down_blocks.3.resnets.1.time_emb_proj.weight"), "input_blocks.11.0.emb_layers.1.weight");
  EXPECT_EQ(ldm("mid_block.resnets.1.norm2.weight"), "middle_block.2.out_layers.0.weight");
  EXPECT_EQ(ldm("mid_block.attentions.0.proj_out.bias"), "middle_block.1.proj_out.bias");
  EXPECT_EQ(ldm("up_blocks.0.resnets.2.conv2.weight"), "output_blocks.2.0.out_layers.3.weight");
  EXPECT_EQ(ldm("up_blocks.0.upsamplers.0.conv.weight"), "output_blocks.2.1.conv.weight");
  EXPECT_EQ(ldm("up_blocks.1.attentions.2.norm.weight"), "output_blocks.5.1.norm.weight");
  EXPECT_EQ(ldm("up_blocks.1.upsamplers.0.conv.bias"), "output_blocks.5.2.conv.bias");
  EXPECT_EQ(ldm("up_blocks.3.resnets.2.norm1.bias"), "output_blocks.11.0.in_layers.0.bias");
  EXPECT_EQ(ldm("conv_norm_out.weight"), "out.0.weight");
  EXPECT_EQ(ldm("conv_out.bias"), "out.2.bias");
}

TEST(CheckpointKeys, StableDiffusionVae) {
  auto ldm = [](const std::string& name) { return ldm_vae_source(name, 4).name; };
  EXPECT_EQ(ldm("encoder.down_blocks.0.resnets.1.conv2.weight"), "encoder.down.0.block.1.conv2.weight");
  EXPECT_EQ(ldm("encoder.down_blocks.1.resnets.0.conv_shortcut.weight"), "encoder.down.1.block.0.nin_shortcut.weight");
  EXPECT_EQ(ldm("encoder.down_blocks.2.downsamplers.0.conv.bias"), "encoder.down.2.downsample.conv.bias");
  EXPECT_EQ(ldm("encoder.mid_block.attentions.0.to_out.0.weight"), "encoder.mid.attn_1.proj_out.weight");
  EXPECT_EQ(ldm("encoder.mid_block.attentions.0.group_norm.bias"), "encoder.mid.attn_1.norm.bias");
  EXPECT_EQ(ldm("decoder.mid_block.resnets.1.norm1.weight"), "decoder.mid.block_2.norm1.weight");
  EXPECT_EQ(ldm("decoder.up_blocks.0.resnets.2.conv1.weight"), "decoder.up.3.block.2.conv1.weight");
  EXPECT_EQ(ldm("decoder.up_blocks.2.upsamplers.0.conv.weight"), "decoder.up.1.upsample.conv.weight");
  EXPECT_EQ(ldm("decoder.conv_norm_out.weight"), "decoder.norm_out.weight");
  EXPECT_EQ(ldm("post_quant_conv.weight"), "post_quant_conv.weight");
}

// SD 2.x keeps OpenCLIP's fused attention projections: the tiny text encoder, rewritten in
// that layout, loads back to the same module.
class OpenClipLayout : public testing::TempDirTest {};

TEST_F(OpenClipLayout, FusedProjectionsRoundTrip) {
  at::NoGradGuard no_grad;
  const CLIPTextConfig config = CLIPTextConfig::load(tiny() / "text_encoder" / "config.json");
  tensors::SafetensorsFile hf = tensors::SafetensorsFile::open(tiny() / "text_encoder" / "model.safetensors");
  tensors::NamedTensors open_clip;
  CLIPTextModel reference(config);
  for (const auto& item : reference->named_parameters()) {
    const tensors::TensorSource source = open_clip_source(item.key(), config);
    if (source.rows_begin != 0 || source.rows_end != -1) {
      if (source.rows_begin != 0) continue;  // written once, from q, k and v together
      const std::string base = item.key().substr(0, item.key().find("self_attn.") + 10);
      const std::string kind = item.key().ends_with("weight") ? "weight" : "bias";
      open_clip.emplace_back(source.name,
                             at::cat({hf.tensor(base + "q_proj." + kind), hf.tensor(base + "k_proj." + kind),
                                      hf.tensor(base + "v_proj." + kind)}));
    } else {
      open_clip.emplace_back(source.name, hf.tensor(item.key()));
    }
  }
  tensors::write_safetensors(path("open_clip.safetensors"), open_clip);
  CLIPTextModel loaded(config);
  tensors::LoadOptions options;
  options.source_for = [&](const std::string& name) { return open_clip_source(name, config); };
  tensors::load_state_dict(*loaded, {path("open_clip.safetensors")}, options);
  CLIPTextModel direct(config);
  tensors::load_state_dict(*direct, {tiny() / "text_encoder" / "model.safetensors"});
  expect_same_parameters(*direct, *loaded, "text_encoder");
}

tensors::TensorEntry shaped(const std::string& name, std::vector<std::int64_t> shape) {
  tensors::TensorEntry e;
  e.name = name;
  e.shape = std::move(shape);
  return e;
}

TEST(CheckpointDetection, RecognisesSd1AndSd2ByShape) {
  tensors::SafetensorsHeader sd1;
  sd1.tensors = {shaped("model.diffusion_model.input_blocks.0.0.weight", {320, 4, 3, 3}),
                 shaped("model.diffusion_model.input_blocks.1.1.proj_in.weight", {320, 320, 1, 1}),
                 shaped("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", {320, 768}),
                 shaped("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", {49408, 768})};
  Architecture a = detect_single_file_architecture(sd1, "sd15.safetensors");
  EXPECT_EQ(a.family, "Stable Diffusion 1.x");
  EXPECT_EQ(a.prediction_type, "epsilon");
  EXPECT_EQ(a.image_size, 512);
  EXPECT_EQ(a.text_encoder.num_hidden_layers, 12);
  EXPECT_TRUE(a.guess.empty());

  tensors::SafetensorsHeader sd2;
  sd2.tensors = {shaped("model.diffusion_model.input_blocks.0.0.weight", {320, 4, 3, 3}),
                 shaped("model.diffusion_model.input_blocks.1.1.proj_in.weight", {320, 320}),
                 shaped("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", {320, 1024}),
                 shaped("cond_stage_model.model.token_embedding.weight", {49408, 1024})};
  a = detect_single_file_architecture(sd2, "sd21.safetensors");
  EXPECT_EQ(a.family, "Stable Diffusion 2.x");
  EXPECT_EQ(a.prediction_type, "v_prediction");
  EXPECT_EQ(a.text_encoder.num_hidden_layers, 23);
  EXPECT_TRUE(a.unet.use_linear_projection);
  EXPECT_EQ(a.unet.num_attention_heads, (std::vector<std::int64_t>{5, 10, 20, 20}));
  // 2.x-base files have the same shapes: the choice is said, with the way to make the other.
  EXPECT_NE(a.guess.find("768 pixels with v-prediction"), std::string::npos) << a.guess;
  EXPECT_NE(a.guess.find("--model-config"), std::string::npos) << a.guess;
}

}  // namespace
}  // namespace pawtrait::models
