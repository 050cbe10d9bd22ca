// LoRA files on FLUX.2 [klein] against Flux2KleinPipeline.load_lora_weights
// (../shared/testdata/klein/reference/lora_infer.safetensors): the file the DreamBooth script
// writes after two steps and one with random matrices at α/r = 2 (taken from the adapter
// metadata), on the distilled and the base model; the weights put back afterwards; and a
// whole 4-step run with the strong LoRA.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "families/flux2/flux2_lora_names.h"
#include "families/flux2/flux2_model.h"
#include "families/model_family.h"
#include "pipeline/text_to_image.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "unit/families/flux2/flux2_test_support.h"

namespace pawtrait::families {
namespace {

using flux2_testing::expect_close;
using flux2_testing::klein;
using flux2_testing::max_difference;

const tensors::SafetensorsFile& infer() {
  static const auto file = tensors::SafetensorsFile::open(klein() / "reference" / "lora_infer.safetensors");
  return file;
}

std::string lora(const std::string& name) {
  return (klein() / "reference" / name / "pytorch_lora_weights.safetensors").string();
}

at::Tensor transformer_out(DiffusionModel& model) {
  const auto io = tensors::SafetensorsFile::open(klein() / "reference" / "transformer_io.safetensors");
  c10::InferenceMode inference;
  return static_cast<Flux2KleinModel&>(model).modules().transformer->forward(
      io.tensor("a.hidden_states"), io.tensor("a.encoder_hidden_states"), infer().tensor("timestep"),
      io.tensor("a.img_ids"), io.tensor("a.txt_ids"));
}

// Module outputs: 1e-5 (README); the trained LoRA moves the output by only 3.5e-4, the strong one
// far more, so the bound tells a loaded LoRA from none.
constexpr double kAtol = 1e-5;

TEST(KleinLora, DiffusersFilesLoadOnBothModelsAndComeOffAgain) {
  for (const std::string name : {"klein", "klein-base"}) {
    SCOPED_TRACE(name);
    const std::string folder = (klein() / (name == "klein" ? "klein-tiny" : "klein-base-tiny")).string();
    auto model = family_of(folder).load(folder, {});
    const at::Tensor before = transformer_out(*model);
    expect_close(name + " no LoRA", before, infer().tensor(name + ".no_lora.out"), kAtol);
    {
      const auto applied = model->apply_lora(lora("lora_trained"), 1.0);
      EXPECT_EQ(applied->format, "peft");
      EXPECT_EQ(applied->layers, 14);
      expect_close(name + " trained", transformer_out(*model), infer().tensor(name + ".trained.out"), kAtol);
      EXPECT_GT(max_difference(transformer_out(*model), infer().tensor(name + ".no_lora.out")), 10 * kAtol);
    }
    {
      const auto applied = model->apply_lora(lora("lora_strong"), 1.0);
      expect_close(name + " strong", transformer_out(*model), infer().tensor(name + ".strong.out"), kAtol);
    }
    // Taking a LoRA off puts the weights back exactly: the output is the one before, bit for bit.
    EXPECT_TRUE(at::equal(transformer_out(*model), before)) << name;
  }
}

class KleinLoraFiles : public testing::TempDirTest {};

// Without the metadata α defaults to r (scale 1): the strong file then needs strength 2.
TEST_F(KleinLoraFiles, AlphaComesFromTheAdapterMetadata) {
  const auto strong = tensors::SafetensorsFile::open(lora("lora_strong"));
  tensors::NamedTensors tensors;
  for (const auto& entry : strong.entries()) tensors.emplace_back(entry.name, strong.tensor(entry));
  const auto bare = path("bare.safetensors");
  tensors::write_safetensors(bare, tensors);
  const std::string folder = (klein() / "klein-tiny").string();
  auto model = family_of(folder).load(folder, {});
  const auto applied = model->apply_lora(bare.string(), 2.0);
  expect_close("no metadata at strength 2", transformer_out(*model), infer().tensor("klein.strong.out"), kAtol);
}

// The strong file rewritten under Black Forest Labs' names (what ComfyUI and ai-toolkit write):
// q, k and v fused into one layer whose down matrices are stacked and whose up matrix is block
// diagonal, so that its three row blocks are exactly the separate updates; α/r folded into the
// up matrices (the layout has no α). It must draw the reference's strong output.
TEST_F(KleinLoraFiles, OriginalNamesWithFusedQkvGiveTheSameUpdate) {
  const auto strong = tensors::SafetensorsFile::open(lora("lora_strong"));
  const models::LoraFile diffusers = models::load_lora(lora("lora_strong"));
  std::map<std::string, const models::LoraLayer*> by_module;
  for (const auto& layer : diffusers.layers) by_module[layer.module] = &layer;
  const auto scaled_up = [](const models::LoraLayer& l) { return l.up * (l.alpha.value_or(l.rank()) / l.rank()); };
  tensors::NamedTensors bfl;
  const auto put = [&](const std::string& name, const at::Tensor& down, const at::Tensor& up) {
    bfl.emplace_back("diffusion_model." + name + ".lora_A.weight", down.contiguous());
    bfl.emplace_back("diffusion_model." + name + ".lora_B.weight", up.contiguous());
  };
  std::size_t used = 0;
  for (int i = 0; i < 2; ++i) {
    const std::string block = "transformer_blocks." + std::to_string(i) + ".attn.";
    std::vector<at::Tensor> downs, ups;
    for (const char* name : {"to_q", "to_k", "to_v"}) {
      const models::LoraLayer& l = *by_module.at(block + name);
      downs.push_back(l.down);
      ups.push_back(scaled_up(l));
      ++used;
    }
    put("double_blocks." + std::to_string(i) + ".img_attn.qkv", at::cat(downs, 0), at::block_diag(ups));
    const models::LoraLayer& out = *by_module.at(block + "to_out.0");
    put("double_blocks." + std::to_string(i) + ".img_attn.proj", out.down, scaled_up(out));
    ++used;
  }
  for (int i = 0; i < 3; ++i) {
    const std::string block = "single_transformer_blocks." + std::to_string(i) + ".attn.";
    const models::LoraLayer& in = *by_module.at(block + "to_qkv_mlp_proj");
    const models::LoraLayer& out = *by_module.at(block + "to_out");
    put("single_blocks." + std::to_string(i) + ".linear1", in.down, scaled_up(in));
    put("single_blocks." + std::to_string(i) + ".linear2", out.down, scaled_up(out));
    used += 2;
  }
  ASSERT_EQ(used, diffusers.layers.size());  // every layer of the reference file went in
  const auto file = path("bfl.safetensors");
  tensors::write_safetensors(file, bfl);
  const std::string folder = (klein() / "klein-tiny").string();
  auto model = family_of(folder).load(folder, {});
  const auto applied = model->apply_lora(file.string(), 1.0);
  EXPECT_EQ(applied->format, "BFL (ComfyUI, ai-toolkit)");
  EXPECT_EQ(applied->layers, 14);
  expect_close("BFL names", transformer_out(*model), infer().tensor("klein.strong.out"), kAtol);
}

TEST(KleinLoraNames, OriginalAndKohyaNamesBecomeDiffusersModules) {
  models::LoraFile file;
  file.path = "x.safetensors";
  file.format = "kohya";
  const auto layer = [](const std::string& component, const std::string& module, std::int64_t out) {
    return models::LoraLayer{component, module, at::ones({2, 4}), at::arange(out * 2).reshape({out, 2}).to(at::kFloat),
                             8.0};
  };
  file.layers = {layer("unet", "double_blocks_1_txt_attn_qkv", 6), layer("unet", "single_blocks_0_linear2", 4),
                 layer("transformer", "final_layer.linear", 4),
                 layer("transformer", "sformer_blocks.0.ff.linear_in", 4),
                 layer("transformer", "transformer_blocks.0.attn.to_q", 4)};
  const models::LoraFile named = klein_lora_in_diffusers_names(file);
  std::vector<std::string> modules;
  for (const auto& l : named.layers) {
    EXPECT_EQ(l.component, "transformer");
    EXPECT_EQ(l.alpha, 8.0);
    modules.push_back(l.module);
  }
  EXPECT_EQ(modules, (std::vector<std::string>{
                         "transformer_blocks.1.attn.add_q_proj", "transformer_blocks.1.attn.add_k_proj",
                         "transformer_blocks.1.attn.add_v_proj", "single_transformer_blocks.0.attn.to_out", "proj_out",
                         "transformer_blocks.0.ff.linear_in", "transformer_blocks.0.attn.to_q"}));
  // The fused layer's up rows in q, k, v order; its down matrix shared.
  EXPECT_TRUE(at::equal(named.layers[1].up, file.layers[0].up.slice(0, 2, 4)));
  EXPECT_TRUE(at::equal(named.layers[2].down, file.layers[0].down));
  EXPECT_EQ(named.format, "kohya");

  file.layers = {layer("text_encoder", "encoder.layers.0.self_attn.q_proj", 4)};
  EXPECT_THROW_MESSAGE(klein_lora_in_diffusers_names(file), "FLUX.2 [klein] LoRAs change only the transformer");
  file.layers = {layer("unet", "double_blocks_0_img_attn_qkv", 4)};
  EXPECT_THROW_MESSAGE(klein_lora_in_diffusers_names(file), "does not split in three");
}

TEST(KleinLora, ARunWithTheStrongLoraDrawsTheReferencesPicture) {
  const std::string folder = (klein() / "klein-tiny").string();
  auto model = family_of(folder).load(folder, {});
  pipeline::TextToImage t2i(*model);
  pipeline::GenerateRequest r;
  r.prompt = "a photo of sks dog";
  r.sampler = "euler";
  r.steps = 4;
  r.guidance = 1.0;
  r.width = 64;
  r.height = 48;
  r.loras = {{lora("lora_strong"), 1.0}};
  const auto images = t2i.generate(r, {}, infer().tensor("klein.strong.pipeline.initial_latents"));
  ASSERT_EQ(images.size(), 1u);
  const at::Tensor expected = infer().tensor("klein.strong.pipeline.final_latents");
  expect_close("final latents", images[0].latents, expected, 5e-5 * expected.abs().max().item<double>() + 5e-5);
}

}  // namespace
}  // namespace pawtrait::families
