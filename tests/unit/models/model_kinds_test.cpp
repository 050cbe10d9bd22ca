// Kinds of model that are not supported (yet) are refused by name, from the names the
// folder or file carries, before any config or weight is read; Stable Diffusion 1.x/2.x
// passes as before.
#include "families/model_kinds.h"
#include "common/error.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "test_support.h"

namespace pawtrait::families {
namespace {

namespace fs = std::filesystem;

fs::path data(const std::string& relative) { return testing::testdata() / relative; }

TEST(ModelKinds, PipelineClassesAreKnownByName) {
  EXPECT_TRUE(kind_of_pipeline("StableDiffusionPipeline")->supported);
  EXPECT_TRUE(kind_of_pipeline("StableDiffusionXLPipeline")->supported);
  EXPECT_FALSE(kind_of_pipeline("StableDiffusionXLImg2ImgPipeline")->supported);
  EXPECT_EQ(kind_of_pipeline("Flux2KleinPipeline")->name, "FLUX.2 [klein]");
  EXPECT_TRUE(kind_of_pipeline("Flux2KleinPipeline")->supported);
  EXPECT_FALSE(kind_of_pipeline("Flux2Pipeline")->supported);   // FLUX.2 [dev]: not yet
  EXPECT_FALSE(kind_of_pipeline("MyOwnPipeline").has_value());  // left to its configs
}

TEST(ModelKinds, UnsupportedFoldersAreRefusedByName) {
  // SDXL generates through its own family; the SD loader (training) says so.
  EXPECT_THROW_MESSAGE(models::load_stable_diffusion(data("sdxl/sdxl-tiny")),
                       "sdxl-tiny is a Stable Diffusion XL model", "model_index.json: StableDiffusionXLPipeline",
                       "training it is not supported yet");
  EXPECT_THROW_MESSAGE(models::detect_architecture(data("klein/klein-tiny")), "is a FLUX.2 [klein] model",
                       "Flux2KleinPipeline");
  EXPECT_NO_THROW(refuse_unsupported_folder(data("sd-tiny")));
}

TEST(ModelKinds, UnsupportedSingleFilesAreRefusedByTheirTensorNames) {
  // An SDXL file generates through its own family; the SD loader (training) says so.
  EXPECT_TRUE(kind_of_single_file({"conditioner.embedders.1.model.positional_embedding"})->supported);
  EXPECT_THROW_MESSAGE(models::detect_architecture(data("sdxl/sdxl-tiny-single.safetensors")),
                       "is a Stable Diffusion XL checkpoint (by its tensor names)", "training it is not supported yet");
  EXPECT_THROW_MESSAGE(refuse_other_than_sd(data("sdxl/sdxl-tiny-single.safetensors"), "training"),
                       "is a Stable Diffusion XL checkpoint", "training it is not supported yet");
  EXPECT_FALSE(
      kind_of_single_file({"conditioner.embedders.0.model.positional_embedding", "model.diffusion_model.out.2.bias"})
          ->supported);
  EXPECT_EQ(
      kind_of_single_file({"conditioner.embedders.0.model.positional_embedding", "model.diffusion_model.out.2.bias"})
          ->name,
      "Stable Diffusion XL refiner (image to image)");
  EXPECT_TRUE(kind_of_single_file({"model.diffusion_model.input_blocks.0.0.weight"})->supported);
  EXPECT_FALSE(kind_of_single_file({"something.else"}).has_value());
}

}  // namespace
}  // namespace pawtrait::families
