// LoRA files applied at inference: the reference's trained LoRA (PEFT names, written by
// diffusers' save_lora_weights) changes the tiny UNet's output exactly as the reference's
// own run did; the same LoRA in kohya's layout does the same; the weights come back after.
#include <ATen/ATen.h>

#include "models/component_loader.h"
#include "models/lora.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

fs::path reference_lora() { return testing::testdata() / "reference" / "lora" / "pytorch_lora_weights.safetensors"; }

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

struct Fixture {
  UNet2DConditionModel unet = load_unet(testing::testdata() / "sd-tiny" / "unet");
  CLIPTextModel text = load_text_encoder(testing::testdata() / "sd-tiny" / "text_encoder");
  tensors::SafetensorsFile ref =
      tensors::SafetensorsFile::open(testing::testdata() / "reference" / "lora_train_ref.safetensors");
  at::Tensor run() {
    at::NoGradGuard no_grad;
    return unet->forward(ref.tensor("infer.sample"), ref.tensor("infer.timestep").to(at::kLong),
                         ref.tensor("infer.encoder_hidden_states"));
  }
};

TEST(Lora, ReferenceLoraReproducesTheReferenceOutput) {
  Fixture f;
  const LoraFile lora = load_lora(reference_lora());
  EXPECT_EQ(lora.format, "peft");
  EXPECT_EQ(lora.layers.size(), 48u);
  const at::Tensor base = f.run();
  EXPECT_LT(relative_error(base, f.ref.tensor("infer.out_base")), 1e-5);
  {
    MergedLora merged(*f.unet, *f.text, lora, 1.0);
    EXPECT_EQ(merged.merged_layers(), 48u);
    const double e = relative_error(f.run(), f.ref.tensor("infer.out_with_lora"));
    std::cout << "[ measured ] UNet output with the reference LoRA: relative error " << e << "\n";
    EXPECT_LT(e, 1e-5);
  }
  // Unmerged: the base weights, exactly.
  EXPECT_TRUE(at::equal(f.run(), base));
}

TEST(Lora, StrengthScalesTheUpdate) {
  Fixture f;
  const LoraFile lora = load_lora(reference_lora());
  const at::Tensor base = f.run();
  const at::Tensor full = [&] {
    MergedLora merged(*f.unet, *f.text, lora, 1.0);
    return f.run();
  }();
  MergedLora none(*f.unet, *f.text, lora, 0.0);
  EXPECT_TRUE(at::allclose(f.run(), base, 0, 1e-6));
  EXPECT_GT((full - base).abs().max().item<double>(), 1e-5);  // the LoRA does something
}

class LoraFiles : public testing::TempDirTest {};

TEST_F(LoraFiles, KohyaLayoutGivesTheSameResult) {
  Fixture f;
  const LoraFile peft = load_lora(reference_lora());
  tensors::NamedTensors kohya;
  for (const LoraLayer& l : peft.layers) {
    std::string name = "lora_unet_" + l.module;
    std::replace(name.begin(), name.end(), '.', '_');
    kohya.emplace_back(name + ".lora_down.weight", l.down);
    kohya.emplace_back(name + ".lora_up.weight", l.up);
    kohya.emplace_back(name + ".alpha", at::scalar_tensor(static_cast<double>(l.rank()), at::kFloat));
  }
  tensors::write_safetensors(path("kohya.safetensors"), kohya);
  const LoraFile k = load_lora(path("kohya.safetensors"));
  EXPECT_EQ(k.format, "kohya");
  at::Tensor via_peft, via_kohya;
  {
    MergedLora merged(*f.unet, *f.text, peft, 0.7);
    via_peft = f.run();
  }
  {
    MergedLora merged(*f.unet, *f.text, k, 0.7);
    via_kohya = f.run();
  }
  EXPECT_TRUE(at::allclose(via_peft, via_kohya, 1e-6, 1e-6));
}

TEST_F(LoraFiles, ForeignArchitectureIsRefusedWithoutChangingTheModel) {
  Fixture f;
  const at::Tensor base = f.run();
  tensors::write_safetensors(path("other.safetensors"),
                             {{"unet.down_blocks.9.attentions.0.proj_in.lora_A.weight", at::zeros({4, 320})},
                              {"unet.down_blocks.9.attentions.0.proj_in.lora_B.weight", at::zeros({320, 4})}});
  EXPECT_THROW_MESSAGE(MergedLora(*f.unet, *f.text, load_lora(path("other.safetensors")), 1.0), "other.safetensors",
                       "this model does not have", "another architecture");
  tensors::write_safetensors(path("wide.safetensors"),
                             {{"unet.down_blocks.1.attentions.0.proj_in.lora_A.weight", at::zeros({4, 320})},
                              {"unet.down_blocks.1.attentions.0.proj_in.lora_B.weight", at::zeros({320, 4})}});
  EXPECT_THROW_MESSAGE(MergedLora(*f.unet, *f.text, load_lora(path("wide.safetensors")), 1.0), "another architecture");
  EXPECT_TRUE(at::equal(f.run(), base));
  tensors::write_safetensors(path("model.safetensors"), {{"conv_in.weight", at::zeros({4})}});
  EXPECT_THROW_MESSAGE(load_lora(path("model.safetensors")), "not part of a LoRA");
}

// Damaged matrices and alphas are refused with the tensor's name, not by a LibTorch error
// (which the CLI would report as a bug).
TEST_F(LoraFiles, DamagedMatricesAndAlphasAreRefusedByName) {
  const std::string q = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q";
  const std::string kohya = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q";
  const auto refused = [&](const std::string& name, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const char* part, const char* says) {
    tensors::write_safetensors(path(name), tensors);
    SCOPED_TRACE(name);
    EXPECT_THROW_MESSAGE(load_lora(path(name)), name.c_str(), part, says);
  };
  refused("scalar.safetensors",
          {{q + ".lora_A.weight", at::scalar_tensor(1.0)}, {q + ".lora_B.weight", at::zeros({32, 4})}},
          "lora_A.weight' has shape []", "2-D");
  refused("flat.safetensors", {{q + ".lora_A.weight", at::zeros({4})}, {q + ".lora_B.weight", at::zeros({32})}},
          "has shape [4]", "2-D");
  refused("rank0.safetensors", {{q + ".lora_A.weight", at::zeros({0, 32})}, {q + ".lora_B.weight", at::zeros({32, 0})}},
          "has shape [0, 32]", "not empty");
  refused("alphas.safetensors",
          {{kohya + ".lora_down.weight", at::zeros({4, 32})},
           {kohya + ".lora_up.weight", at::zeros({32, 4})},
           {kohya + ".alpha", at::ones({3})}},
          ".alpha' must be one number", "shape [3]");
  refused("negative.safetensors",
          {{kohya + ".lora_down.weight", at::zeros({4, 32})},
           {kohya + ".lora_up.weight", at::zeros({32, 4})},
           {kohya + ".alpha", at::tensor(-2.0)}},
          ".alpha' must be one number", "0 or more");
  // An alpha of 0 is a file's own choice (diffusers scales the update by it): read as it is.
  tensors::write_safetensors(path("zero.safetensors"), {{kohya + ".lora_down.weight", at::zeros({4, 32})},
                                                        {kohya + ".lora_up.weight", at::zeros({32, 4})},
                                                        {kohya + ".alpha", at::tensor(0.0)}});
  EXPECT_EQ(load_lora(path("zero.safetensors")).layers.at(0).alpha, 0.0);
}

}  // namespace
}  // namespace pawtrait::models
