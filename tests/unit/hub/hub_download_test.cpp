// The hub client against FakeHub on 127.0.0.1, serving the tiny model from the shared test
// data in the hub's layout. Nothing here reaches the internet: HF_ENDPOINT points at the
// local server for the whole test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "common/error.h"
#include "hub/hub_client.h"
#include "hub/model_cache.h"
#include "test_support.h"
#include "unit/hub/fake_hub.h"

namespace pawtrait::hub {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRepo = "pawtrait-test/sd-tiny";
constexpr const char* kCommit = "4f3c2b1a0987654321fedcba0123456789abcdef";
constexpr const char* kUnet = "unet/diffusion_pytorch_model.safetensors";
constexpr const char* kVae = "vae/diffusion_pytorch_model.safetensors";

const std::vector<std::string> kTinyFiles = {"model_index.json",
                                             "scheduler/scheduler_config.json",
                                             "text_encoder/config.json",
                                             "tokenizer/merges.txt",
                                             "tokenizer/special_tokens_map.json",
                                             "tokenizer/tokenizer_config.json",
                                             "tokenizer/vocab.json",
                                             "unet/config.json",
                                             "vae/config.json",
                                             "text_encoder/model.safetensors",
                                             kUnet,
                                             kVae};

class HubDownloadTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    hub_.add_repo(kRepo, source(), kCommit);
    ::setenv("HF_ENDPOINT", hub_.endpoint().c_str(), 1);
    ::unsetenv("HF_TOKEN");
  }

  static fs::path source() { return testing::testdata() / "sd-tiny"; }

  HubSettings settings() const {
    HubSettings s = settings_from_environment();
    s.max_retries = 3;
    s.retry_delay = std::chrono::milliseconds(10);
    s.connect_timeout_s = 5;
    s.stall_timeout_s = 5;
    return s;
  }

  DownloadRequest request(const std::string& variant = "") const {
    DownloadRequest r;
    r.repo_id = kRepo;
    r.variant = variant;
    r.dest = dir_ / "models" / "pawtrait-test--sd-tiny";
    return r;
  }

  fs::path folder() const { return request().dest; }
  bool has_marker() const { return fs::exists(folder() / kCompleteMarker); }

  void expect_same_as_source(const std::string& file) {
    EXPECT_EQ(read_bytes(folder() / file), read_bytes(source() / file)) << file << " differs from the source";
  }

  testing::FakeHub hub_;
};

TEST_F(HubDownloadTest, FullDownloadEqualsTheSourceAndIsMarkedComplete) {
  std::vector<DownloadProgress> reports;
  DownloadCallbacks callbacks;
  callbacks.on_progress = [&](const DownloadProgress& p) { reports.push_back(p); };
  const DownloadResult result = HubClient(settings()).download(request(), callbacks);

  EXPECT_FALSE(result.cancelled);
  EXPECT_EQ(result.commit, kCommit);
  EXPECT_EQ(result.folder, folder());
  auto sorted_files = result.files;
  auto expected = kTinyFiles;
  std::sort(sorted_files.begin(), sorted_files.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(sorted_files, expected);
  for (const auto& file : kTinyFiles) expect_same_as_source(file);
  for (const auto& entry : fs::recursive_directory_iterator(folder())) {
    EXPECT_NE(entry.path().extension(), ".part") << entry.path();
  }
  ASSERT_TRUE(has_marker());
  const auto marker = read_complete_marker(folder());
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->repo_id, kRepo);
  EXPECT_EQ(marker->commit, kCommit);
  EXPECT_EQ(list_cached_models(dir_ / "models").size(), 1u);

  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().total_done, reports.back().total_total);
  EXPECT_EQ(reports.back().file_count, kTinyFiles.size());
  EXPECT_GT(reports.back().total_total, 15'000'000u);
  EXPECT_EQ(result.bytes_downloaded, reports.back().total_total);
  // Files are fetched by commit, so a branch moving mid-download can't mix revisions.
  EXPECT_EQ(hub_.requests_for(std::string("/resolve/") + kCommit + "/").size(), kTinyFiles.size());

  // A second run finds the complete entry and fetches nothing.
  const std::size_t before = hub_.requests().size();
  const DownloadResult again = HubClient(settings()).download(request());
  EXPECT_TRUE(again.already_complete);
  EXPECT_EQ(hub_.requests().size(), before + 1);  // the file list only
}

TEST_F(HubDownloadTest, ResumesWithRangeAfterTheServerDropsTheConnection) {
  const std::size_t cut = 1'000'000;
  hub_.drop_after_once(kUnet, cut);
  std::vector<std::string> log;
  DownloadCallbacks callbacks;
  callbacks.log = [&](LogLevel, const std::string& line) { log.push_back(line); };
  HubClient(settings()).download(request(), callbacks);

  const auto unet_requests = hub_.requests_for(kUnet);
  ASSERT_EQ(unet_requests.size(), 2u);
  EXPECT_EQ(unet_requests[0].range, "");
  EXPECT_EQ(unet_requests[1].range, "bytes=" + std::to_string(cut) + "-");
  expect_same_as_source(kUnet);
  EXPECT_TRUE(has_marker());
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& l) { return l.find("retrying") != l.npos; }));
}

TEST_F(HubDownloadTest, ResumesFromAPartFileOfAnEarlierRun) {
  const std::string unet = read_bytes(source() / kUnet);
  fs::create_directories(folder() / "unet");
  write_bytes(fs::relative(folder() / (std::string(kUnet) + ".part"), dir_).string(), unet.substr(0, 123'456));
  HubClient(settings()).download(request());
  ASSERT_EQ(hub_.requests_for(kUnet).size(), 1u);
  EXPECT_EQ(hub_.requests_for(kUnet)[0].range, "bytes=123456-");
  expect_same_as_source(kUnet);
  EXPECT_TRUE(has_marker());
}

TEST_F(HubDownloadTest, StartsOverWhenTheServerIgnoresRange) {
  hub_.ignore_range(true);
  fs::create_directories(folder() / "vae");
  write_bytes(fs::relative(folder() / (std::string(kVae) + ".part"), dir_).string(), "stale bytes of another file");
  HubClient(settings()).download(request());
  EXPECT_EQ(hub_.requests_for(kVae).at(0).range, "bytes=27-");
  expect_same_as_source(kVae);
  EXPECT_TRUE(has_marker());
}

TEST_F(HubDownloadTest, CorruptFileIsCaughtByItsChecksumAndNothingLooksComplete) {
  hub_.corrupt(kVae);
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(request()), kVae, "corrupt", "SHA-256", "run the command again");
  EXPECT_FALSE(has_marker());
  EXPECT_FALSE(fs::exists(folder() / kVae));
  EXPECT_FALSE(fs::exists(folder() / (std::string(kVae) + ".part")));
  EXPECT_TRUE(list_cached_models(dir_ / "models").empty());
}

TEST_F(HubDownloadTest, ChecksumFromTheHubHeadersWhenTheListingHasNoMetadata) {
  // Older API answers have no sizes or LFS hashes; the resolve response's X-Linked-Etag,
  // sent on the hub's redirect to its CDN, still carries the SHA-256.
  hub_.list_metadata(false);
  hub_.redirect_lfs(true);
  hub_.corrupt(kUnet);
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(request()), kUnet, "SHA-256");
  EXPECT_FALSE(fs::exists(folder() / kUnet));
  EXPECT_FALSE(has_marker());
}

TEST_F(HubDownloadTest, AFileNotInLfsIsCheckedAgainstItsGitBlobId) {
  // From the listing's blobId, and, where an older listing has none, from the ETag.
  for (const bool metadata : {true, false}) {
    hub_.list_metadata(metadata);
    hub_.corrupt("model_index.json");
    EXPECT_THROW_MESSAGE(HubClient(settings()).download(request()), "model_index.json", "corrupt", "git blob id");
    EXPECT_FALSE(fs::exists(folder() / "model_index.json"));
    EXPECT_FALSE(has_marker());
  }
}

TEST_F(HubDownloadTest, ASecondDownloadIntoTheSameFolderIsRefusedWhileOneRuns) {
  fs::create_directories(folder());
  // What a running download holds (another process's open file description, here this one's).
  const int held = ::open((folder() / ".pawtrait-download.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(request()), "another download of", kRepo, "is running");
  EXPECT_TRUE(hub_.requests_for("/resolve/").empty());  // nothing fetched, nothing written
  ::close(held);                                        // it ended: the next one goes ahead
  HubClient(settings()).download(request());
  EXPECT_TRUE(has_marker());
  for (const auto& file : kTinyFiles) expect_same_as_source(file);
}

TEST_F(HubDownloadTest, TokenGoesToTheHubButNotToTheCdn) {
  hub_.require_token("hf_secret");
  hub_.redirect_lfs(true);
  HubSettings s = settings();
  s.token = "hf_secret";
  HubClient(s).download(request());
  EXPECT_TRUE(has_marker());
  expect_same_as_source(kUnet);
  ASSERT_FALSE(hub_.requests_for("/cdn/").empty());
  for (const auto& r : hub_.requests_for("/cdn/")) EXPECT_EQ(r.authorization, "") << r.path;
  for (const auto& r : hub_.requests_for("/resolve/")) EXPECT_EQ(r.authorization, "Bearer hf_secret") << r.path;
}

TEST_F(HubDownloadTest, Unauthorized401AsksForAToken) {
  hub_.require_token("hf_secret");
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(request()), "401", "needs a Hugging Face token", "HF_TOKEN");
  HubSettings wrong = settings();
  wrong.token = "hf_wrong";
  try {
    HubClient(wrong).download(request());
    ADD_FAILURE() << "expected a 401";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid or expired"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("hf_wrong"), std::string::npos) << "the token leaked: " << e.what();
  }
  EXPECT_FALSE(fs::exists(folder()));
}

TEST_F(HubDownloadTest, Forbidden403ExplainsGatedModels) {
  hub_.set_api_status(403, "GatedRepo");
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(request()), "gated", "accept its licence", kRepo);
}

TEST_F(HubDownloadTest, NotFound404NamesTheRepoOrRevision) {
  DownloadRequest missing = request();
  missing.repo_id = "pawtrait-test/no-such-model";
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(missing), "no model pawtrait-test/no-such-model", "404");
  DownloadRequest bad_revision = request();
  bad_revision.revision = "v9";
  EXPECT_THROW_MESSAGE(HubClient(settings()).download(bad_revision), "no revision \"v9\"", "404");
  EXPECT_FALSE(fs::exists(folder()));
}

TEST_F(HubDownloadTest, UnreachableHubSaysSoAndSuggestsHfEndpoint) {
  HubSettings s = settings();
  s.max_retries = 1;
  {
    testing::FakeHub closed;  // a port that was just free; nothing listens once it is gone
    s.endpoint = closed.endpoint();
  }
  EXPECT_THROW_MESSAGE(HubClient(s).download(request()), "can't reach the hub", "HF_ENDPOINT");
}

TEST_F(HubDownloadTest, RetriesTransientServerErrors) {
  hub_.fail_once(kVae, 503);
  HubClient(settings()).download(request());
  EXPECT_EQ(hub_.requests_for(kVae).size(), 2u);
  expect_same_as_source(kVae);
  EXPECT_TRUE(has_marker());
}

TEST_F(HubDownloadTest, CancelStopsPromptlyAndKeepsPartialFiles) {
  hub_.throttle(64 * 1024, 10);
  std::atomic<bool> cancel{false};
  std::uint64_t done_at_cancel = 0;
  DownloadCallbacks callbacks;
  callbacks.cancel = &cancel;
  callbacks.on_progress = [&](const DownloadProgress& p) {
    if (p.file == kUnet && p.file_done > 500'000 && !cancel) {
      done_at_cancel = p.file_done;
      cancel = true;
    }
  };
  const DownloadResult result = HubClient(settings()).download(request(), callbacks);
  EXPECT_TRUE(result.cancelled);
  EXPECT_FALSE(has_marker());
  EXPECT_FALSE(fs::exists(folder() / kUnet));
  const fs::path part = folder() / (std::string(kUnet) + ".part");
  ASSERT_TRUE(fs::exists(part));
  EXPECT_GT(fs::file_size(part), 500'000u);
  // Promptly, in bytes rather than seconds (a loaded CI machine has no wall-clock bound): the
  // write callback refuses the next chunk once the flag is up, so no more than what was in
  // flight reaches the disk.
  std::cout << "[ measured ] bytes written after the cancel: " << fs::file_size(part) - done_at_cancel << "\n";
  EXPECT_LE(fs::file_size(part) - done_at_cancel, 64u * 1024);

  // The same request later continues from the .part file.
  hub_.throttle(1 << 20, 0);
  const DownloadResult resumed = HubClient(settings()).download(request());
  EXPECT_FALSE(resumed.cancelled);
  EXPECT_EQ(hub_.requests_for(kUnet).back().range.rfind("bytes=", 0), 0u);
  expect_same_as_source(kUnet);
  EXPECT_TRUE(has_marker());
}

TEST_F(HubDownloadTest, VariantPicksFp16FilesAndFallsBackPerComponent) {
  const std::string fp16_unet = "fp16 unet weights " + std::string(1000, 'u');
  const std::string fp16_text = "fp16 text encoder weights " + std::string(500, 't');
  hub_.add_file(kRepo, "unet/diffusion_pytorch_model.fp16.safetensors", fp16_unet);
  hub_.add_file(kRepo, "text_encoder/model.fp16.safetensors", fp16_text);
  hub_.add_file(kRepo, "unet/diffusion_pytorch_model.bin", "pickle");

  const DownloadResult result = HubClient(settings()).download(request("fp16"));
  EXPECT_EQ(read_bytes(folder() / "unet/diffusion_pytorch_model.fp16.safetensors"), fp16_unet);
  EXPECT_EQ(read_bytes(folder() / "text_encoder/model.fp16.safetensors"), fp16_text);
  EXPECT_FALSE(fs::exists(folder() / kUnet));
  EXPECT_FALSE(fs::exists(folder() / "text_encoder/model.safetensors"));
  EXPECT_FALSE(fs::exists(folder() / "unet/diffusion_pytorch_model.bin"));
  expect_same_as_source(kVae);  // no fp16 file for the VAE: the plain one
  EXPECT_EQ(read_complete_marker(folder())->variant, "fp16");
  EXPECT_EQ(result.files.size(), kTinyFiles.size());
}

TEST_F(HubDownloadTest, NotADiffusersRepoIsRefused) {
  testing::FakeHub other;
  other.add_file("someone/single-file", "model.safetensors", "weights");
  HubSettings s = settings();
  s.endpoint = other.endpoint();
  DownloadRequest r = request();
  r.repo_id = "someone/single-file";
  EXPECT_THROW_MESSAGE(HubClient(s).download(r), "not a diffusers model", "model_index.json");
}

}  // namespace
}  // namespace pawtrait::hub
