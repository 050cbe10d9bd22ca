// Saving trained adapters: the kohya/A1111 and diffusers/PEFT files Pawtrait writes load back
// through its own reader and, merged into a fresh model, reproduce what the adapters did in
// memory (so the scale alpha / rank survives both layouts), under the names other tools use.
#include <ATen/ATen.h>

#include <iostream>

#include "common/error.h"
#include "models/component_loader.h"
#include "models/lora.h"
#include "models/lora_export.h"
#include "models/lora_linear.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kRank = 4;
constexpr double kAlpha = 8;  // scaling 2: a writer that drops or double-counts it is caught
const std::string kToQ = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q";
const std::string kKohyaToQ = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q";

UNet2DConditionModel base_unet() { return load_unet(testing::testdata() / "sd-tiny" / "unet"); }
CLIPTextModel base_text_encoder() { return load_text_encoder(testing::testdata() / "sd-tiny" / "text_encoder"); }

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

const LoraLayer* find_layer(const std::vector<LoraLayer>& layers, const std::string& module) {
  const auto it = std::find_if(layers.begin(), layers.end(), [&](const LoraLayer& l) { return l.module == module; });
  return it == layers.end() ? nullptr : &*it;
}

// The reference UNet inputs at t = 10.
struct UNetInputs {
  tensors::SafetensorsFile io =
      tensors::SafetensorsFile::open(testing::testdata() / "reference" / "unet_io.safetensors");
  at::Tensor run(UNet2DConditionModel& unet) const {
    at::NoGradGuard no_grad;
    return unet->forward(io.tensor("t10.sample"), io.tensor("t10.timestep").to(at::kLong),
                         io.tensor("t10.encoder_hidden_states"));
  }
};

// A UNet with rank-4, alpha-8 adapters whose up matrices are random, as after some training
// (a fresh adapter's zero up matrix would make every file look right).
UNet2DConditionModel adapted_unet() {
  UNet2DConditionModel unet = base_unet();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2024);
  const auto params = add_lora_adapters(*unet, kDefaultLoraTargets, kRank, kAlpha, LoraInit::Kaiming, gen);
  at::NoGradGuard no_grad;
  for (std::size_t i = 1; i < params.size(); i += 2) params[i].normal_(0.0, 0.01, gen);  // lora_B
  return unet;
}

class LoraExport : public testing::TempDirTest {};

TEST_F(LoraExport, BothLayoutsReproduceTheAdaptedUNet) {
  const UNetInputs inputs;
  UNet2DConditionModel adapted = adapted_unet();
  const at::Tensor expected = inputs.run(adapted);
  const std::vector<LoraLayer> layers = collect_lora_layers(*adapted, "unet");
  ASSERT_EQ(layers.size(), 48u);
  save_lora_kohya(path("kohya.safetensors"), layers);
  save_lora_peft(path("peft.safetensors"), layers);

  UNet2DConditionModel unet = base_unet();
  CLIPTextModel text = base_text_encoder();
  const at::Tensor base = inputs.run(unet);
  const double effect = relative_error(expected, base);
  std::cout << "[ measured ] adapters change the UNet output by " << effect << " (relative)\n";
  ASSERT_GT(effect, 1e-3);  // far above the tolerance below, so a lost scale cannot pass

  for (const char* name : {"kohya", "peft"}) {
    const LoraFile lora = load_lora(path(std::string(name) + ".safetensors"));
    EXPECT_EQ(lora.format, name);
    EXPECT_EQ(lora.layers.size(), 48u);
    MergedLora merged(*unet, *text, lora, 1.0);
    EXPECT_EQ(merged.merged_layers(), 48u);
    const at::Tensor out = inputs.run(unet);
    const double e = relative_error(out, expected);
    std::cout << "[ measured ] " << name << " file merged into a fresh UNet vs the adapters in memory: max abs diff "
              << (out - expected).abs().max().item<double>() << ", relative " << e << "\n";
    EXPECT_LE(e, 1e-5) << name;
  }
  EXPECT_TRUE(at::equal(inputs.run(unet), base));  // unmerged
}

TEST_F(LoraExport, CollectCopiesTheAdapters) {
  UNet2DConditionModel unet = adapted_unet();
  const std::vector<LoraLayer> layers = collect_lora_layers(*unet, "unet");
  ASSERT_EQ(layers.size(), 48u);
  const LoraLayer* it = find_layer(layers, kToQ);
  ASSERT_NE(it, nullptr);
  ASSERT_TRUE(it->alpha.has_value());
  EXPECT_DOUBLE_EQ(*it->alpha, kAlpha);
  EXPECT_EQ(it->component, "unet");
  EXPECT_EQ(it->rank(), kRank);
  auto* to_q = unet->named_modules()[kToQ]->as<LoraLinearImpl>();
  ASSERT_NE(to_q, nullptr);
  EXPECT_TRUE(at::equal(it->down, to_q->lora_A->weight));
  EXPECT_TRUE(at::equal(it->up, to_q->lora_B->weight));
  EXPECT_FALSE(it->up.requires_grad());
  // Copies: training on does not change what was collected.
  const at::Tensor before = it->up.clone();
  {
    at::NoGradGuard no_grad;
    to_q->lora_B->weight.add_(1.0);
  }
  EXPECT_TRUE(at::equal(it->up, before));
  EXPECT_TRUE(collect_lora_layers(*base_unet(), "unet").empty());
}

TEST_F(LoraExport, KohyaKeysAlphaAndMetadata) {
  UNet2DConditionModel unet = adapted_unet();
  const std::vector<LoraLayer> layers = collect_lora_layers(*unet, "unet");
  save_lora_kohya(path("kohya.safetensors"), layers, {{"ss_output_name", "rex"}, {"ss_network_dim", "999"}});
  const auto file = tensors::SafetensorsFile::open(path("kohya.safetensors"));
  EXPECT_EQ(file.entries().size(), 3 * 48u);
  const at::Tensor alpha = file.tensor(kKohyaToQ + ".alpha");
  EXPECT_EQ(alpha.dim(), 0);
  EXPECT_EQ(alpha.scalar_type(), at::kFloat);
  EXPECT_EQ(alpha.item<float>(), 8.0f);
  ASSERT_NE(find_layer(layers, kToQ), nullptr);
  const LoraLayer& to_q = *find_layer(layers, kToQ);
  EXPECT_TRUE(at::equal(file.tensor(kKohyaToQ + ".lora_down.weight"), to_q.down));
  EXPECT_TRUE(at::equal(file.tensor(kKohyaToQ + ".lora_up.weight"), to_q.up));
  EXPECT_TRUE(file.contains("lora_unet_up_blocks_0_attentions_2_transformer_blocks_0_attn2_to_out_0.lora_up.weight"));

  const auto& meta = file.metadata();
  EXPECT_EQ(meta.at("ss_network_module"), "networks.lora");
  EXPECT_EQ(meta.at("ss_network_dim"), "4");  // read off the tensors, over the caller's stale value
  EXPECT_EQ(meta.at("ss_network_alpha"), "8.0");
  EXPECT_EQ(meta.at("ss_output_name"), "rex");

  // Layers of different ranks: sd-scripts' resize_lora marks that "Dynamic".
  std::vector<LoraLayer> mixed = {layers[0], layers[1]};
  mixed[1].down = mixed[1].down.slice(0, 0, 2);
  mixed[1].up = mixed[1].up.slice(1, 0, 2);
  save_lora_kohya(path("mixed.safetensors"), mixed);
  const auto mixed_file = tensors::SafetensorsFile::open(path("mixed.safetensors"));
  EXPECT_EQ(mixed_file.metadata().at("ss_network_dim"), "Dynamic");
  EXPECT_EQ(mixed_file.metadata().at("ss_network_alpha"), "Dynamic");
}

TEST_F(LoraExport, PeftKeysFoldTheScaleIntoLoraB) {
  UNet2DConditionModel unet = adapted_unet();
  const std::vector<LoraLayer> layers = collect_lora_layers(*unet, "unet");
  save_lora_peft(path("peft.safetensors"), layers, {{"pawtrait_steps", "400"}});
  const auto file = tensors::SafetensorsFile::open(path("peft.safetensors"));
  EXPECT_EQ(file.entries().size(), 2 * 48u);
  ASSERT_NE(find_layer(layers, kToQ), nullptr);
  const LoraLayer& to_q = *find_layer(layers, kToQ);
  EXPECT_TRUE(at::equal(file.tensor("unet." + kToQ + ".lora_A.weight"), to_q.down));
  EXPECT_TRUE(at::allclose(file.tensor("unet." + kToQ + ".lora_B.weight"), to_q.up * (kAlpha / kRank), 0, 0));
  EXPECT_TRUE(file.contains("unet.up_blocks.0.attentions.2.transformer_blocks.0.attn2.to_out.0.lora_A.weight"));
  for (const auto& entry : file.entries()) EXPECT_EQ(entry.name.find("alpha"), std::string::npos) << entry.name;
  EXPECT_EQ(file.metadata().at("pawtrait_steps"), "400");
  EXPECT_EQ(file.metadata().at("format"), "pt");

  const LoraFile back = load_lora(path("peft.safetensors"));
  const LoraLayer* it = find_layer(back.layers, kToQ);
  ASSERT_NE(it, nullptr);
  EXPECT_EQ(it->component, "unet");
  EXPECT_FALSE(it->alpha.has_value());  // scale 1: the fold above is the whole scale
}

TEST_F(LoraExport, TextEncoderLayersGetTheirOwnPrefix) {
  const std::string module = "text_model.encoder.layers.0.self_attn.q_proj";
  CLIPTextModel text = base_text_encoder();
  const at::Tensor weight = text->named_parameters()[module + ".weight"];
  const std::int64_t hidden = weight.size(0);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  LoraLayer layer;
  layer.component = "text_encoder";
  layer.module = module;
  layer.down = at::randn({2, weight.size(1)}, gen);
  layer.up = at::randn({hidden, 2}, gen);
  layer.alpha = 1.0;  // scale 0.5
  const at::Tensor delta = at::matmul(layer.up, layer.down) * 0.5;
  save_lora_kohya(path("kohya.safetensors"), {layer});
  save_lora_peft(path("peft.safetensors"), {layer});

  const auto file = tensors::SafetensorsFile::open(path("kohya.safetensors"));
  EXPECT_TRUE(file.contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"));
  EXPECT_TRUE(file.contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight"));
  EXPECT_TRUE(file.contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha"));
  EXPECT_TRUE(
      tensors::SafetensorsFile::open(path("peft.safetensors")).contains("text_encoder." + module + ".lora_A.weight"));

  UNet2DConditionModel unet = base_unet();
  const at::Tensor original = weight.clone();
  for (const char* name : {"kohya", "peft"}) {
    const LoraFile back = load_lora(path(std::string(name) + ".safetensors"));
    ASSERT_EQ(back.layers.size(), 1u);
    EXPECT_EQ(back.layers[0].component, "text_encoder");
    // kohya's names lose the dots; the merge finds the module by its underscore spelling.
    std::string underscored = module;
    std::replace(underscored.begin(), underscored.end(), '.', '_');
    EXPECT_EQ(back.layers[0].module, std::string(name) == "kohya" ? underscored : module);
    MergedLora merged(*unet, *text, back, 1.0);
    EXPECT_EQ(merged.merged_layers(), 1u);
    EXPECT_TRUE(at::allclose(weight - original, delta, 1e-5, 1e-6)) << name;
  }
  EXPECT_TRUE(at::equal(weight, original));
}

TEST_F(LoraExport, RefusesWhatNoReaderCouldUse) {
  EXPECT_THROW_MESSAGE(save_lora_kohya(path("empty.safetensors"), {}), "empty.safetensors", "no LoRA layers",
                       "add_lora_adapters");
  EXPECT_THROW_MESSAGE(save_lora_peft(path("empty.safetensors"), {}), "empty.safetensors", "no LoRA layers");
  EXPECT_THROW(save_lora_peft(path("empty.safetensors"), {}), Error);
  LoraLayer vae{"vae", "decoder.mid_block.attentions.0.to_q", at::zeros({2, 8}), at::zeros({8, 2}), std::nullopt};
  EXPECT_THROW_MESSAGE(save_lora_kohya(path("vae.safetensors"), {vae}), "vae.safetensors", "'vae'", "unet");
  EXPECT_FALSE(fs::exists(path("empty.safetensors")));
  EXPECT_FALSE(fs::exists(path("vae.safetensors")));
}

}  // namespace
}  // namespace pawtrait::models
