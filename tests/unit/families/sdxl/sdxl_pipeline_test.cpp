// SDXL through the family interface and the generic pipeline against the reference's
// StableDiffusionXLPipeline (../shared/testdata/sdxl/reference/{encode_prompt,pipeline_run}
// .safetensors): the prompt encoding with and without negatives, and two whole runs.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <fstream>
#include <iostream>

#include "common/json_file.h"
#include "families/model_family.h"
#include "families/sdxl/sdxl_model.h"
#include "pipeline/text_to_image.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "unit/families/sdxl/sdxl_test_support.h"

namespace pawtrait::families {
namespace {

using sdxl_testing::expect_close;
using sdxl_testing::sdxl;

StableDiffusionXLModel& tiny() {
  static StableDiffusionXLModel model(load_sdxl(sdxl() / "sdxl-tiny", {}));
  return model;
}

// Module outputs: the testdata README's 1e-5, ten times the reference's own spread on
// encode_prompt (float32 vs float64 9.9e-7).
TEST(SdxlEncodePrompt, MatchesTheReferenceWithAndWithoutNegatives) {
  c10::InferenceMode inference;
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "encode_prompt.safetensors");
  StableDiffusionXLModel& model = tiny();
  const Conditioning prompt = model.encode("a photo of sks dog", {}, {});
  expect_close("prompt_embeds", prompt.at("context"), ref.tensor("neg_none_zeros.prompt_embeds"), 1e-5);
  expect_close("pooled_prompt_embeds", prompt.at("pooled"), ref.tensor("neg_none_zeros.pooled_prompt_embeds"), 1e-5);

  // No negative prompt and force_zeros_for_empty_prompt: zeros; an explicit "" is encoded.
  const Conditioning none = model.unconditional({.negative = true}, {});
  EXPECT_EQ(none.at("context").abs().max().item<double>(), 0.0);
  EXPECT_EQ(none.at("pooled").abs().max().item<double>(), 0.0);
  expect_close("negative \"\"", model.encode("", {.negative = true}, {}).at("context"),
               ref.tensor("neg_empty_string.negative_prompt_embeds"), 1e-5);
  expect_close("negative \"\" pooled", model.encode("", {.negative = true}, {}).at("pooled"),
               ref.tensor("neg_empty_string.negative_pooled_prompt_embeds"), 1e-5);

  // clip_skip 1 takes hidden_states[-3] for the prompt; the reference's negative keeps [-2].
  expect_close("clip_skip 1", model.encode("a photo of sks dog", {.clip_skip = 1}, {}).at("context"),
               ref.tensor("clip_skip1.prompt_embeds"), 1e-5);
  expect_close("clip_skip 1 negative",
               model.encode("blurry, low quality", {.clip_skip = 1, .negative = true}, {}).at("context"),
               ref.tensor("clip_skip1.negative_prompt_embeds"), 1e-5);
  expect_close("explicit negative", model.encode("blurry, low quality", {.negative = true}, {}).at("context"),
               ref.tensor("neg_explicit.negative_prompt_embeds"), 1e-5);
  // Longer than 77 tokens: both tokenizers truncate to BOS + 75 + EOS, as the reference does.
  const std::string long_prompt =
      "a highly detailed digital painting of a majestic golden retriever dog sitting in a sunlit meadow full of "
      "wildflowers, with butterflies around, soft bokeh background, volumetric lighting, golden hour, ultra realistic "
      "fur texture, sharp focus, intricate details, trending on artstation, by greg rutkowski and alphonse mucha, 8k "
      "resolution, cinematic composition, award winning photograph, masterpiece, vivid colors, dramatic sky, "
      "hyperrealistic, octane render";
  std::string warning;
  const Conditioning longer = model.encode(long_prompt, {}, [&](LogLevel, const std::string& line) { warning = line; });
  expect_close("long prompt", longer.at("context"), ref.tensor("long.prompt_embeds"), 1e-5);
  expect_close("long prompt pooled", longer.at("pooled"), ref.tensor("long.pooled_prompt_embeds"), 1e-5);
  EXPECT_NE(warning.find("so this end is ignored"), std::string::npos) << warning;
}

// Whole runs from the reference's initial latents: Euler, 4 steps, guidance 5. Final
// latents within 2e-4 (the README's bound for a float32 port: about ten times the
// reference's own spread, 1.8e-5 float32 vs float64 on latents of magnitude 13.5;
// guidance amplifies), the VAE's decode within 1e-4.
TEST(SdxlPipeline, RunsLikeTheReferencePipeline) {
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "pipeline_run.safetensors");
  pipeline::TextToImage t2i(tiny());
  struct Run {
    std::string name;
    std::optional<std::string> negative;
    std::int64_t width;
  };
  for (const Run& run :
       {Run{"a_64x64_neg_none", std::nullopt, 64}, Run{"b_h64_w96_n2_neg", "blurry, low quality", 96}}) {
    SCOPED_TRACE(run.name);
    pipeline::GenerateRequest r;
    r.model = (sdxl() / "sdxl-tiny").string();
    r.prompt = "a photo of sks dog";
    r.negative_prompt = run.negative;
    r.sampler = "euler";
    r.steps = 4;
    r.guidance = 5.0;
    r.width = run.width;
    r.height = 64;
    r.batch_size = 2;
    const at::Tensor initial = ref.tensor(run.name + ".initial_latents");
    const auto images = t2i.generate(r, {}, initial);
    ASSERT_EQ(static_cast<std::int64_t>(images.size()), initial.size(0));
    std::vector<at::Tensor> finals;
    for (const auto& image : images) finals.push_back(image.latents);
    const at::Tensor final_latents = at::cat(finals);
    expect_close(run.name + " final latents", final_latents, ref.tensor(run.name + ".final_latents"), 2e-4);
    c10::InferenceMode inference;
    expect_close(run.name + " decoded", tiny().decode(ref.tensor(run.name + ".final_latents")),
                 ref.tensor(run.name + ".vae_decoded_raw"), 1e-4);
  }
}

// The single file through its family, with the folder's configs, draws the reference's
// picture as the folder does (same bound as above).
TEST(SdxlPipeline, SingleFileRunsLikeTheReferencePipeline) {
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "pipeline_run.safetensors");
  const std::string file = (sdxl() / "sdxl-tiny-single.safetensors").string();
  LoadOptions options;
  options.model_config = sdxl() / "sdxl-tiny";
  const std::unique_ptr<DiffusionModel> model = family_of(file).load(file, options);
  EXPECT_EQ(model->family(), "Stable Diffusion XL");
  pipeline::TextToImage t2i(*model);
  pipeline::GenerateRequest r;
  r.model = file;
  r.prompt = "a photo of sks dog";
  r.sampler = "euler";
  r.steps = 4;
  r.guidance = 5.0;
  r.width = r.height = 64;
  const auto images = t2i.generate(r, {}, ref.tensor("a_64x64_neg_none.initial_latents"));
  ASSERT_EQ(images.size(), 1u);
  expect_close("single file final latents", images[0].latents, ref.tensor("a_64x64_neg_none.final_latents"), 2e-4);
}

// Explicit micro-conditioning with other negative ids and two images: the reference lays the
// size ids out as [negative, positive, negative, positive] while the embeddings come in
// halves, and this port does the same (run c_microcond_n2); the request's JSON keeps them.
TEST(SdxlPipeline, MicroConditioningAsTheReferencePipelineLaysItOut) {
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "pipeline_run.safetensors");
  pipeline::TextToImage t2i(tiny());
  pipeline::GenerateRequest r;
  r.prompt = "A PHOTO of a Dog!!";
  r.negative_prompt = "";
  r.sampler = "euler";
  r.steps = 4;
  r.guidance = 5.0;
  r.width = r.height = 64;
  r.batch_size = 2;
  r.original_size = pipeline::GenerateRequest::Pair{300, 451};
  r.crops_coords_top_left = pipeline::GenerateRequest::Pair{0, 16};
  r.target_size = pipeline::GenerateRequest::Pair{64, 64};
  r.negative_original_size = pipeline::GenerateRequest::Pair{512, 512};
  r.negative_crops_coords_top_left = pipeline::GenerateRequest::Pair{0, 0};
  r.negative_target_size = pipeline::GenerateRequest::Pair{64, 64};
  const auto images = t2i.generate(r, {}, ref.tensor("c_microcond_n2.initial_latents"));
  ASSERT_EQ(images.size(), 2u);
  expect_close("c_microcond_n2 final latents", at::cat({images[0].latents, images[1].latents}),
               ref.tensor("c_microcond_n2.final_latents"), 2e-4);

  const pipeline::GenerateRequest again = pipeline::GenerateRequest::from_json(r.to_json());
  EXPECT_EQ(again.original_size, r.original_size);
  EXPECT_EQ(again.negative_crops_coords_top_left, r.negative_crops_coords_top_left);
  EXPECT_FALSE(pipeline::GenerateRequest{}.to_json().contains("original_size"));  // unset: not written
  nlohmann::json bad = r.to_json();
  bad["target_size"] = {64};
  EXPECT_THROW_MESSAGE(pipeline::GenerateRequest::from_json(bad, "request.json"), "target_size", "[height, width]");
}

// A copy of sdxl-tiny whose weights are only an fp16 variant (*.fp16.safetensors in half
// precision), as the hub's SDXL repos ship them.
class SdxlFolder : public pawtrait::testing::TempDirTest {
 protected:
  std::filesystem::path fp16_folder() {
    namespace fs = std::filesystem;
    const fs::path source = sdxl() / "sdxl-tiny";
    const fs::path out = path("sdxl-fp16");
    for (const auto& entry : fs::recursive_directory_iterator(source)) {
      const fs::path target = out / fs::relative(entry.path(), source);
      if (entry.is_directory()) {
        fs::create_directories(target);
      } else if (entry.path().extension() == ".safetensors") {
        const auto file = tensors::SafetensorsFile::open(entry.path());
        tensors::NamedTensors half;
        for (const auto& t : file.entries()) {
          const at::Tensor value = file.tensor(t.name);
          half.emplace_back(t.name, value.is_floating_point() ? value.to(at::kHalf) : value.clone());
        }
        tensors::write_safetensors(target.parent_path() / (target.stem().string() + ".fp16.safetensors"), half);
      } else {
        fs::copy_file(entry.path(), target);
      }
    }
    return out;
  }
};

// Loaded with the fp16 variant in float16, the UNet and text encoders are half precision and
// the VAE float32 (its config's force_upcast: SDXL's VAE overflows in float16, the known
// black-picture failure), so the decode of float16 latents is finite and close to the
// reference's float32 one: the weights and the latents carry one float16 rounding each
// (2^-11 relative); measured 2.2e-3 on pixels of magnitude 2.75, bound 1e-2.
TEST_F(SdxlFolder, Fp16VariantKeepsTheVaeInFloat32) {
  const auto folder = fp16_folder();
  LoadOptions options;
  options.dtype = at::kHalf;
  options.variant = "fp16";
  StableDiffusionXL loaded = load_sdxl(folder, options);
  EXPECT_EQ(loaded.unet->conv_in->weight.scalar_type(), at::kHalf);
  EXPECT_EQ(loaded.text_encoder_2->text_projection->weight.scalar_type(), at::kHalf);
  EXPECT_EQ(loaded.vae->post_quant_conv->weight.scalar_type(), at::kFloat);
  StableDiffusionXLModel model(std::move(loaded));
  c10::InferenceMode inference;
  const auto ref = tensors::SafetensorsFile::open(sdxl() / "reference" / "pipeline_run.safetensors");
  const at::Tensor pixels = model.decode(ref.tensor("a_64x64_neg_none.final_latents").to(at::kHalf));
  EXPECT_EQ(pixels.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(pixels).all().item<bool>());
  expect_close("fp16 variant decode", pixels, ref.tensor("a_64x64_neg_none.vae_decoded_raw"), 1e-2);
  EXPECT_THROW_MESSAGE(load_sdxl(folder, {}), "unet");  // no plain weights in this copy
}

// Configs that do not fit together are refused before any weight is read, naming the file.
TEST_F(SdxlFolder, ConfigsThatDisagreeAreRefusedBeforeLoading) {
  const std::filesystem::path out = path("sdxl-mismatch");
  pawtrait::testing::copy_model_with_linked_weights(sdxl() / "sdxl-tiny", out);
  nlohmann::json unet = read_json_file(out / "unet" / "config.json");
  unet["cross_attention_dim"] = 32;
  std::ofstream(out / "unet" / "config.json") << unet.dump();
  EXPECT_THROW_MESSAGE(load_sdxl(out, {}), "unet/config.json", "cross_attention_dim is 32",
                       "the two text encoders give 24");
}

TEST(SdxlFamily, IsFoundAndLoadsThroughTheRegistry) {
  const std::string folder = (sdxl() / "sdxl-tiny").string();
  const ModelFamily& family = family_of(folder);
  EXPECT_EQ(family.name, "Stable Diffusion XL");
  const std::unique_ptr<DiffusionModel> model = family.load(folder, {});
  EXPECT_EQ(model->latent_format().scaling_factor, 0.13025);
  EXPECT_EQ(model->latent_format().spatial_factor, 8);
  EXPECT_EQ(model->defaults().sampler, "euler");
  EXPECT_EQ(model->defaults().size, 64);
}

}  // namespace
}  // namespace pawtrait::families
