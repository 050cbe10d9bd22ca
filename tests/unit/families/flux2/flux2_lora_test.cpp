// LoRA files on FLUX.2 [klein] against Flux2KleinPipeline.load_lora_weights
// (../shared/testdata/klein/reference/lora_infer.safetensors): the file the DreamBooth script
// writes after two steps and one with random matrices at α/r = 2 (taken from the adapter
// metadata), on the distilled and the base model; the weights put back afterwards; and a
// whole 4-step run with the strong LoRA.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

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
