#include "tensors/weight_files.h"

#include <ATen/ATen.h>

#include "tensors/safetensors_writer.h"
#include "test_support.h"

namespace pawtrait::tensors {
namespace {

class WeightFiles : public testing::TempDirTest {};

TEST_F(WeightFiles, TinyModelComponents) {
  const auto unet = testing::testdata() / "sd-tiny" / "unet";
  auto files = find_weight_files(unet);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].filename(), "diffusion_pytorch_model.safetensors");
}

TEST_F(WeightFiles, VariantsAndShards) {
  write_safetensors(path("diffusion_pytorch_model.safetensors"), {{"a", at::ones({1})}});
  write_safetensors(path("diffusion_pytorch_model.fp16.safetensors"), {{"a", at::ones({1}, at::kHalf)}});
  EXPECT_EQ(find_weight_files(dir_).at(0).filename(), "diffusion_pytorch_model.safetensors");
  EXPECT_EQ(find_weight_files(dir_, "fp16").at(0).filename(), "diffusion_pytorch_model.fp16.safetensors");

  std::filesystem::create_directories(path("sharded"));
  write_safetensors(path("sharded/model-00001-of-00002.safetensors"), {{"a", at::ones({1})}});
  write_safetensors(path("sharded/model-00002-of-00002.safetensors"), {{"b", at::ones({1})}});
  write_bytes(
      "sharded/model.safetensors.index.json",
      R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  auto shards = find_weight_files(path("sharded"));
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[1].filename(), "model-00002-of-00002.safetensors");
}

TEST_F(WeightFiles, PickleOnlyFolderIsRefusedWithAReason) {
  write_bytes("diffusion_pytorch_model.bin", "not really a pickle");
  EXPECT_THROW_MESSAGE(find_weight_files(dir_), "only pickle files", "can run code", "safetensors");
}

TEST_F(WeightFiles, MissingShardIsNamed) {
  write_bytes("model.safetensors.index.json", R"({"weight_map":{"a":"model-00001-of-00002.safetensors"}})");
  EXPECT_THROW_MESSAGE(find_weight_files(dir_), "model-00001-of-00002.safetensors", "missing");
}

TEST_F(WeightFiles, EmptyFolder) { EXPECT_THROW_MESSAGE(find_weight_files(dir_), "no .safetensors weights"); }

}  // namespace
}  // namespace pawtrait::tensors
