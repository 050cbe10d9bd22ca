#include "pipeline/model_search.h"

#include <gtest/gtest.h>

#include "models/model_fingerprint.h"
#include "pipeline/image_metadata.h"
#include "test_support.h"

namespace pawtrait::pipeline {
namespace {

namespace fs = std::filesystem;

// A picture's request as a shared PNG carries it: names and hashes of what was on the
// maker's disk.
class ModelSearch : public testing::TempDirTest {
 protected:
  fs::path model_folder(const std::string& where, const std::string& weights) {
    fs::create_directories(path(where + "/unet"));
    write_bytes(where + "/model_index.json", "{}");
    write_bytes(where + "/unet/diffusion_pytorch_model.safetensors", weights);
    return path(where);
  }
  GenerateRequest shared(const GenerateRequest& request) {
    GenerateRequest r = request;
    r.model_hash = models::short_hash(r.model);
    for (auto& lora : r.loras) lora.hash = models::short_hash(lora.path);
    return without_paths(r);
  }
  GenerateRequest located(const GenerateRequest& r, const std::vector<fs::path>& folders) {
    return locate_models(r, folders,
                         [this](LogLevel level, const std::string& line) {
                           if (level == LogLevel::Warning) warnings.push_back(line);
                         },
                         {});
  }
  std::vector<std::string> warnings;
};

TEST_F(ModelSearch, FindsTheModelOfItsNameAndHashAmongOthersOfTheSameName) {
  GenerateRequest made;
  made.model = model_folder("maker/models/my-sd", "the weights").string();
  const GenerateRequest picture = shared(made);
  EXPECT_EQ(picture.model, "my-sd");
  // On another disk: an older version of the same name first, the right one later.
  model_folder("here/old/my-sd", "older weights");
  const fs::path right = model_folder("here/models/my-sd", "the weights");
  const GenerateRequest r = located(picture, {path("here/old"), path("here/models")});
  EXPECT_EQ(r.model, right.string());
  EXPECT_TRUE(warnings.empty());
}

TEST_F(ModelSearch, ANameWithAnotherHashIsUsedWithAWarning) {
  GenerateRequest made;
  made.model = model_folder("maker/my-sd", "the weights").string();
  const GenerateRequest picture = shared(made);
  const fs::path other = model_folder("here/my-sd", "fine-tuned since");
  EXPECT_EQ(located(picture, {path("here")}).model, other.string());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("another version"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find(picture.model_hash), std::string::npos) << warnings[0];
}

TEST_F(ModelSearch, AMissingModelIsNamedWithItsHashAndWhereItWasLookedFor) {
  GenerateRequest made;
  made.model = model_folder("maker/my-sd", "the weights").string();
  const GenerateRequest picture = shared(made);
  fs::create_directories(path("here"));
  const std::string named = "the model my-sd (hash " + picture.model_hash + ")";
  const std::string folder = path("here").string();
  EXPECT_THROW_MESSAGE(located(picture, {path("here")}), named.c_str(), folder.c_str(), "--model PATH");
}

TEST_F(ModelSearch, ALoraThreeLevelsDownInAProjectIsFoundByHashAmongLorasOfTheSameName) {
  GenerateRequest made;
  made.model = model_folder("maker/my-sd", "the weights").string();
  fs::create_directories(path("project/runs/rex/lora"));
  fs::create_directories(path("project/runs/tom/lora"));
  write_bytes("project/runs/tom/lora/pytorch_lora_weights.safetensors", "tom's LoRA");
  const fs::path rex = write_bytes("project/runs/rex/lora/pytorch_lora_weights.safetensors", "rex's LoRA");
  made.loras = {{rex.string(), 0.7}};
  const GenerateRequest picture = shared(made);
  EXPECT_EQ(picture.loras[0].path, "pytorch_lora_weights.safetensors");
  const GenerateRequest r = located(picture, {path("project"), path("maker")});
  EXPECT_EQ(r.model, path("maker/my-sd").string());
  ASSERT_EQ(r.loras.size(), 1u);
  EXPECT_EQ(r.loras[0].path, rex.string());
  EXPECT_EQ(r.loras[0].strength, 0.7);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(ModelSearch, ABuiltInRunIsFoundByItsFolderNameAndWeights) {
  fs::create_directories(path("project/runs/2026-rex"));
  write_bytes("project/runs/2026-rex/model.safetensors", "pixel weights");
  GenerateRequest picture;
  picture.model = without_paths(GenerateRequest{.model = "builtin:" + path("maker/runs/2026-rex").string()}).model;
  EXPECT_EQ(picture.model, "builtin:2026-rex");
  picture.model_hash = models::short_hash(path("project/runs/2026-rex/model.safetensors"));
  EXPECT_EQ(located(picture, {path("project")}).model, "builtin:" + path("project/runs/2026-rex").string());
}

TEST_F(ModelSearch, AnOlderPicturesPathIsUsedWhileItExistsAndSearchedByNameWhenGone) {
  GenerateRequest picture;
  picture.model = model_folder("models/my-sd", "weights").string();  // no hash: made before pictures had them
  EXPECT_EQ(located(picture, {}).model, picture.model);
  picture.model = path("moved-away/my-sd").string();
  EXPECT_EQ(located(picture, {path("models")}).model, path("models/my-sd").string());
}

TEST_F(ModelSearch, ConfigsNotFoundAreDetectedAgainWithAWarning) {
  GenerateRequest picture;
  picture.model = model_folder("models/my-sd", "weights").string();
  picture.model_config = "sdxl-configs";
  EXPECT_EQ(located(picture, {path("models")}).model_config, "");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("sdxl-configs"), std::string::npos) << warnings[0];
}

TEST_F(ModelSearch, NearAPictureIsItsFolderTheTwoAboveAndTheCurrentOne) {
  const auto folders = folders_near(path("project/gallery/00001-5.png"));
  ASSERT_EQ(folders.size(), 4u);
  EXPECT_EQ(folders[0], path("project/gallery"));
  EXPECT_EQ(folders[1], path("project"));
  EXPECT_EQ(folders[2], dir_);
  EXPECT_EQ(folders[3], fs::current_path());
}

}  // namespace
}  // namespace pawtrait::pipeline
