#include <gtest/gtest.h>
#include <unistd.h>
#include <algorithm>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "common/error.h"
#include "common/git_blob_id.h"
#include "common/sha256.h"
#include "hub/http.h"
#include "hub/hub_client.h"
#include "hub/hub_files.h"
#include "hub/model_cache.h"
#include "test_support.h"

namespace pawtrait::hub {
namespace {

std::vector<std::string> paths(const std::vector<RepoFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

RepoListing listing_of(std::vector<std::string> names) {
  RepoListing listing;
  for (auto& n : names) listing.files.push_back({n, std::nullopt, std::nullopt, std::nullopt});
  return listing;
}

TEST(HubFiles, Sha256MatchesKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HubFiles, Sha256OfAFileStopsWhenCancelled) {
  const auto file = std::filesystem::temp_directory_path() / ("pawtrait-sha-" + std::to_string(::getpid()));
  { std::ofstream(file) << "abc"; }
  EXPECT_EQ(sha256_file(file).value(), sha256_hex("abc"));
  const std::atomic<bool> cancel{true};
  EXPECT_FALSE(sha256_file(file, &cancel).has_value());
  std::filesystem::remove(file);
}

TEST(HubFiles, ParsesTheApiListingWithLfsMetadata) {
  const auto listing = parse_repo_listing(R"({"id":"a/b","sha":"c0ffee","siblings":[
      {"rfilename":"model_index.json","size":541,"blobId":"ce013625030ba8dba906f756967f9e9ca394464a"},
      {"rfilename":"vae/config.json","size":541,"blobId":"not an id"},
      {"rfilename":"unet/diffusion_pytorch_model.safetensors","size":3438167536,"blobId":"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
       "lfs":{"sha256":"19da7aaa4b880e59d56843f1fcb4dd9b599c28a1d9d9af7c1143057c8ffae9f1","size":3438167536,"pointerSize":135}}]})",
                                          "a/b");
  EXPECT_EQ(listing.commit, "c0ffee");
  ASSERT_EQ(listing.files.size(), 3u);
  EXPECT_EQ(listing.files[0].size.value(), 541u);
  EXPECT_FALSE(listing.files[0].sha256);
  EXPECT_EQ(listing.files[0].blob_id.value(), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_FALSE(listing.files[1].blob_id);  // not 40 hex digits: not trusted as one
  EXPECT_EQ(listing.files[2].size.value(), 3438167536u);
  EXPECT_EQ(listing.files[2].sha256.value(), "19da7aaa4b880e59d56843f1fcb4dd9b599c28a1d9d9af7c1143057c8ffae9f1");
  EXPECT_FALSE(listing.files[2].blob_id);  // an LFS file's blob is its pointer
}

TEST(HubFiles, GitBlobIdsAreGitsOwn) {
  // `printf 'hello\n' | git hash-object --stdin` and the same for nothing.
  EXPECT_EQ(git_blob_id("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(git_blob_id(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  const auto file = std::filesystem::temp_directory_path() / ("pawtrait-blob-" + std::to_string(::getpid()));
  { std::ofstream(file) << "hello\n"; }
  EXPECT_EQ(git_blob_id_of_file(file).value(), "ce013625030ba8dba906f756967f9e9ca394464a");
  std::filesystem::remove(file);
}

TEST(HubHttp, HttpsNeverRedirectsToHttpAndOnlyThisMachineIsLoopback) {
  EXPECT_STREQ(redirect_protocols("https://huggingface.co/a/b/resolve/main/x"), "https");
  EXPECT_STREQ(redirect_protocols("http://127.0.0.1:8080/a"), "http,https");
  EXPECT_TRUE(is_loopback_url("http://127.0.0.1:8080/api"));
  EXPECT_TRUE(is_loopback_url("http://localhost/api"));
  EXPECT_TRUE(is_loopback_url("http://[::1]:9000"));
  EXPECT_FALSE(is_loopback_url("http://127.0.0.1.evil.example/"));
  EXPECT_FALSE(is_loopback_url("http://localhost.example.com"));
  EXPECT_FALSE(is_loopback_url("http://mirror.example.com:8080/"));
  EXPECT_FALSE(is_loopback_url("http://127.0.0.1@mirror.example.com/"));
}

TEST(HubHttp, ATokenIsNeverSentOverPlainHttpBeyondThisMachine) {
  HubSettings s;
  s.token = "hf_secret";
  s.endpoint = "http://mirror.example.com";
  EXPECT_THROW_MESSAGE(HubClient{s}, "HF_TOKEN is set", "plain http", "https://");
  try {
    HubClient{s};
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hf_secret"), std::string::npos) << "the token leaked: " << e.what();
  }
  s.endpoint = "https://mirror.example.com";
  EXPECT_NO_THROW(HubClient{s});
  s.endpoint = "http://127.0.0.1:8080";  // a mirror on this machine
  EXPECT_NO_THROW(HubClient{s});
  s.token.clear();
  s.endpoint = "http://mirror.example.com";  // no token, nothing to leak
  EXPECT_NO_THROW(HubClient{s});
}

TEST(HubFiles, RefusesPathsThatLeaveTheFolder) {
  EXPECT_THROW_MESSAGE(parse_repo_listing(R"({"siblings":[{"rfilename":"../../.bashrc"}]})", "a/b"), "unsafe path");
  EXPECT_THROW_MESSAGE(parse_repo_listing(R"({"siblings":[{"rfilename":"/etc/passwd"}]})", "a/b"), "unsafe path");
  EXPECT_THROW_MESSAGE(parse_repo_listing(R"({"nothing":1})", "a/b"), "siblings");
  EXPECT_THROW_MESSAGE(parse_repo_listing("not json", "a/b"), "a/b");
}

TEST(HubFiles, ValidatesRepoIds) {
  EXPECT_NO_THROW(validate_repo_id("stable-diffusion-v1-5/stable-diffusion-v1-5"));
  EXPECT_NO_THROW(validate_repo_id("Manojb/stable-diffusion-2-1-base"));
  for (const char* bad : {"", "noslash", "a/b/c", "../x", "a/..", "a b/c", "/a", "a/"}) {
    EXPECT_THROW_MESSAGE(validate_repo_id(bad), "org/name");
  }
}

TEST(HubFiles, SelectsWhatADiffusersFolderNeedsAndNoPickles) {
  const auto chosen = select_model_files(listing_of({"model_index.json",
                                                     "README.md",
                                                     "v1-5-pruned.safetensors",
                                                     "v1-5-pruned.ckpt",
                                                     "unet/config.json",
                                                     "unet/diffusion_pytorch_model.safetensors",
                                                     "unet/diffusion_pytorch_model.bin",
                                                     "unet/diffusion_pytorch_model.non_ema.safetensors",
                                                     "unet/diffusion_pytorch_model.fp16.safetensors",
                                                     "vae/config.json",
                                                     "vae/diffusion_pytorch_model.safetensors",
                                                     "vae/diffusion_pytorch_model.msgpack",
                                                     "vae/diffusion_pytorch_model.onnx",
                                                     "text_encoder/config.json",
                                                     "text_encoder/model.safetensors",
                                                     "text_encoder/pytorch_model.bin",
                                                     "tokenizer/vocab.json",
                                                     "tokenizer/merges.txt",
                                                     "tokenizer/tokenizer_config.json",
                                                     "scheduler/scheduler_config.json",
                                                     "safety_checker/config.json",
                                                     "safety_checker/model.safetensors",
                                                     "feature_extractor/x.json"}),
                                         "");
  EXPECT_EQ(paths(chosen), (std::vector<std::string>{
                               "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                               "tokenizer/merges.txt", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
                               "unet/config.json", "vae/config.json", "text_encoder/model.safetensors",
                               "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"}));
}

// A FLUX.2 [klein] repo as the hub has it: a sharded transformer and text encoder, the
// tokenizer's tokenizer.json; the top-level BFL single file and the text encoder's
// generation config are not needed.
TEST(HubFiles, SelectsAKleinFolder) {
  const auto chosen = select_model_files(
      listing_of({"model_index.json", "flux-2-klein-4b.safetensors", "transformer/config.json",
                  "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
                  "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
                  "transformer/diffusion_pytorch_model.safetensors.index.json", "text_encoder/config.json",
                  "text_encoder/generation_config.json", "text_encoder/model-00001-of-00002.safetensors",
                  "text_encoder/model-00002-of-00002.safetensors", "text_encoder/model.safetensors.index.json",
                  "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
                  "tokenizer/merges.txt", "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
                  "scheduler/scheduler_config.json"}),
      "");
  std::vector<std::string> got = paths(chosen);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                     "text_encoder/model-00001-of-00002.safetensors", "text_encoder/model-00002-of-00002.safetensors",
                     "text_encoder/model.safetensors.index.json", "tokenizer/merges.txt", "tokenizer/tokenizer.json",
                     "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "transformer/config.json",
                     "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
                     "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
                     "transformer/diffusion_pytorch_model.safetensors.index.json", "vae/config.json",
                     "vae/diffusion_pytorch_model.safetensors"}));
}

TEST(HubFiles, VariantReplacesPlainWeightsPerComponent) {
  const auto listing = listing_of(
      {"model_index.json", "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
       "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.fp16-00001-of-00002.safetensors",
       "text_encoder/model.fp16-00002-of-00002.safetensors", "text_encoder/model.safetensors.index.fp16.json",
       "text_encoder/model.safetensors.index.json", "text_encoder/model-00001-of-00002.safetensors",
       "text_encoder/model-00002-of-00002.safetensors"});
  EXPECT_EQ(
      paths(select_model_files(listing, "fp16")),
      (std::vector<std::string>{
          "model_index.json", "text_encoder/model.safetensors.index.fp16.json",
          "text_encoder/model.fp16-00001-of-00002.safetensors", "text_encoder/model.fp16-00002-of-00002.safetensors",
          "unet/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors"}));
  EXPECT_EQ(paths(select_model_files(listing, "")),
            (std::vector<std::string>{
                "model_index.json", "text_encoder/model.safetensors.index.json",
                "text_encoder/model-00001-of-00002.safetensors", "text_encoder/model-00002-of-00002.safetensors",
                "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"}));
}

class ModelCacheTest : public testing::TempDirTest {};

TEST_F(ModelCacheTest, DefaultFolderFollowsXdg) {
  const char* saved = std::getenv("XDG_DATA_HOME");
  const std::string before = saved ? saved : "";
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  ::setenv("XDG_DATA_HOME", dir_.c_str(), 1);
  EXPECT_EQ(default_models_dir(), dir_ / "pawtrait" / "models");
  ::setenv("XDG_DATA_HOME", "relative/ignored", 1);
  ::setenv("HOME", "/home/somebody", 1);
  EXPECT_EQ(default_models_dir(), std::filesystem::path("/home/somebody/.local/share/pawtrait/models"));
  ::setenv("HOME", home.c_str(), 1);
  if (saved) {
    ::setenv("XDG_DATA_HOME", before.c_str(), 1);
  } else {
    ::unsetenv("XDG_DATA_HOME");
  }
  EXPECT_EQ(cache_folder_name("org/name"), "org--name");
}

TEST_F(ModelCacheTest, ListsOnlyFoldersWithACompletionMarker) {
  std::filesystem::create_directories(dir_ / "a--done");
  std::filesystem::create_directories(dir_ / "b--partial");
  write_bytes("b--partial/model_index.json", "{}");
  write_bytes("c--damaged-marker", "");
  std::filesystem::create_directories(dir_ / "d--damaged");
  write_bytes(std::string("d--damaged/") + kCompleteMarker, "{not json");
  write_complete_marker({dir_ / "a--done", "a/done", "main", "abc123", "fp16", {"model_index.json"}});
  const auto models = list_cached_models(dir_);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].repo_id, "a/done");
  EXPECT_EQ(models[0].commit, "abc123");
  EXPECT_EQ(models[0].variant, "fp16");
  EXPECT_EQ(models[0].folder, dir_ / "a--done");
  EXPECT_TRUE(list_cached_models(dir_ / "missing").empty());
}

TEST(HubFiles, FormatsBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(2'500'000'000ULL), "2.5 GB");
}

}  // namespace
}  // namespace pawtrait::hub
