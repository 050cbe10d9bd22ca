// FLUX.2 [klein] through its family and the generic pipeline against Flux2KleinPipeline
// (../shared/testdata/klein/reference/pipeline_*.safetensors): the distilled model in 4 steps
// without guidance, the base model in 6 with guidance 4 and the built-in empty negative, and
// with a real negative prompt; each from the reference's own initial latents, compared on
// the output_type="latent" result and the picture.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "families/flux2/flux2_latents.h"
#include "families/model_family.h"
#include "pipeline/text_to_image.h"
#include "tensors/safetensors_reader.h"
#include "unit/families/flux2/flux2_test_support.h"

namespace pawtrait::families {
namespace {

using flux2_testing::expect_close;
using flux2_testing::klein;

struct Run {
  std::string file;
  std::string model;
  std::int64_t steps;
  double guidance;
  std::optional<std::string> negative;
};

// What the pipeline drew: its output_type="latent" tensor and the float picture.
void expect_like_the_reference(const Run& run, DiffusionModel& model) {
  SCOPED_TRACE(run.file);
  const auto ref = tensors::SafetensorsFile::open(klein() / "reference" / (run.file + ".safetensors"));
  pipeline::TextToImage t2i(model);
  pipeline::GenerateRequest r;
  r.prompt = "a photo of sks dog";
  r.negative_prompt = run.negative;
  r.sampler = "euler";
  r.steps = run.steps;
  r.guidance = run.guidance;
  r.width = 64;
  r.height = 48;
  const auto images = t2i.generate(r, {}, ref.tensor("initial_latents"));
  ASSERT_EQ(images.size(), 1u);
  // The README's bound for final latents: 5e-5·max|ref| + 5e-5 (the reference's fp32-vs-fp64
  // spread is 1.2e-6 distilled, 3.2e-6 base with a negative prompt, on latents up to 8.2).
  const at::Tensor expected = ref.tensor("final_latents");
  const double bound = 5e-5 * expected.abs().max().item<double>() + 5e-5;
  expect_close("final latents", images[0].latents, expected, bound);
  // The picture: 8-bit rounding of a float image within 2e-4 of the reference's.
  const at::Tensor rgb = at::from_blob(const_cast<std::uint8_t*>(images[0].rgb.data()), {1, 48, 64, 3}, at::kByte);
  expect_close("picture", rgb.to(at::kDouble) / 255, ref.tensor("image_np"), 0.5 / 255 + 2e-4);
  c10::InferenceMode inference;
  // decode() takes the sampler's space: the reference's final packed tokens, unpacked.
  expect_close("decode", model.decode(flux2_latents::unpack(ref.tensor("final_packed_latents"), 12, 16)),
               ref.tensor("vae_decoded_raw"), 1e-5);
}

TEST(KleinPipeline, TheDistilledModelDrawsTheReferencesPictureInFourSteps) {
  const ModelFamily& family = family_of((klein() / "klein-tiny").string());
  EXPECT_EQ(family.name, "FLUX.2 [klein]");
  const FamilyDescription d = family.describe((klein() / "klein-tiny").string(), std::nullopt);
  EXPECT_EQ(d.family, "FLUX.2 [klein] distilled");
  EXPECT_EQ(d.prediction_type, "flow");
  EXPECT_EQ(d.steps, 4);
  EXPECT_EQ(d.image_size, 256);  // 128 latent pixels of the tiny VAE's factor 2
  auto model = family.load((klein() / "klein-tiny").string(), {});
  EXPECT_FALSE(model->uses_guidance());
  EXPECT_EQ(model->latent_format().channels, 128);
  EXPECT_EQ(model->latent_format().spatial_factor, 4);
  EXPECT_EQ(model->defaults().steps, 4);
  EXPECT_EQ(model->defaults().guidance, 1.0);
  expect_like_the_reference({"pipeline_distilled", "klein-tiny", 4, 1.0, std::nullopt}, *model);
  // A distilled model ignores guidance, as the reference pipeline does.
  expect_like_the_reference({"pipeline_distilled", "klein-tiny", 4, 4.0, std::nullopt}, *model);
}

TEST(KleinPipeline, TheBaseModelIsGuidedWithAndWithoutANegativePrompt) {
  auto model = family_of((klein() / "klein-base-tiny").string()).load((klein() / "klein-base-tiny").string(), {});
  EXPECT_TRUE(model->uses_guidance());
  EXPECT_EQ(model->family(), "FLUX.2 [klein] base");
  EXPECT_EQ(model->defaults().steps, 50);
  EXPECT_EQ(model->defaults().guidance, 4.0);
  expect_like_the_reference({"pipeline_base", "klein-base-tiny", 6, 4.0, std::nullopt}, *model);
  expect_like_the_reference({"pipeline_base_negprompt", "klein-base-tiny", 6, 4.0, "blurry, low quality"}, *model);
}

}  // namespace
}  // namespace pawtrait::families
