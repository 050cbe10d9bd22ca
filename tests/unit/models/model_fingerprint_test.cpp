#include "models/model_fingerprint.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

class ModelFingerprint : public testing::TempDirTest {
 protected:
  fs::path cache() const { return path("cache/hashes.json"); }
};

TEST_F(ModelFingerprint, AFilesHashIsTheStartOfItsSha256AsA1111Writes) {
  const std::string bytes = "not really a checkpoint, but bytes all the same";
  write_bytes("pet.safetensors", bytes);
  EXPECT_EQ(short_hash(path("pet.safetensors")), sha256_hex(bytes).substr(0, 10));
  EXPECT_EQ(shared_name(path("pet.safetensors")), "pet.safetensors");
  EXPECT_EQ(shared_name(path("models/FLUX.2-klein-4B/")), "FLUX.2-klein-4B");
}

TEST_F(ModelFingerprint, AFolderChangesWithItsWeightsButNotWithHiddenOrUnfinishedFiles) {
  fs::create_directories(path("m/unet"));
  write_bytes("m/model_index.json", "{}");
  // Over two samples long: only its first and last MiB are read.
  std::string weights(3 << 20, 'w');
  write_bytes("m/unet/diffusion_pytorch_model.safetensors", weights);
  const std::string before = short_hash(path("m"));
  EXPECT_EQ(before.size(), 10u);

  write_bytes("m/.pawtrait-complete", "{\"commit\": \"abc\"}");
  write_bytes("m/unet/config.json.x1y2.pawtrait-tmp", "half");
  EXPECT_EQ(short_hash(path("m")), before);

  weights[weights.size() - 10] = 'v';  // a fine-tune changes every tensor, the last ones too
  write_bytes("m/unet/diffusion_pytorch_model.safetensors", weights);
  const std::string changed = short_hash(path("m"));
  EXPECT_NE(changed, before);

  fs::rename(path("m/unet"), path("m/transformer"));  // the same bytes in another component
  EXPECT_NE(short_hash(path("m")), changed);
}

TEST_F(ModelFingerprint, TheCacheIsUsedWhileTheFileIsUnchangedAndRenewedWhenItChanges) {
  write_bytes("lora.safetensors", "first");
  const std::string first = short_hash(path("lora.safetensors"), cache());
  ASSERT_TRUE(fs::exists(cache()));
  // The cache answers for an unchanged file: a planted value comes back.
  std::ifstream in(cache());
  nlohmann::json json = nlohmann::json::parse(in);
  const std::string key = path("lora.safetensors").lexically_normal().string();
  ASSERT_TRUE(json.contains(key)) << json.dump();
  json[key]["hash"] = "0000000000";
  write_bytes("cache/hashes.json", json.dump());
  EXPECT_EQ(short_hash(path("lora.safetensors"), cache()), "0000000000");

  write_bytes("lora.safetensors", "second, longer");  // another size: computed again
  EXPECT_EQ(short_hash(path("lora.safetensors"), cache()), sha256_hex("second, longer").substr(0, 10));
  EXPECT_NE(first, sha256_hex("second, longer").substr(0, 10));

  write_bytes("cache/hashes.json", "{torn");  // a torn cache is made again
  EXPECT_EQ(short_hash(path("lora.safetensors"), cache()), sha256_hex("second, longer").substr(0, 10));
}

TEST_F(ModelFingerprint, SaysWhatIsMissing) {
  EXPECT_THROW_MESSAGE(short_hash(path("gone.safetensors")), "gone.safetensors", "does not exist");
  fs::create_directories(path("empty"));
  EXPECT_THROW_MESSAGE(short_hash(path("empty")), "empty folder");
}

}  // namespace
}  // namespace pawtrait::models
