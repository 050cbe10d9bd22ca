#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/log.h"
#include "hub/hub_files.h"

namespace pawtrait::hub {

// Where the hub is and who asks. The token is sent to the hub as a bearer token and is
// never logged, written to a file or put in an error message.
struct HubSettings {
  std::string endpoint = "https://huggingface.co";
  std::string token;
  int max_retries = 5;                          // per file, after the first try
  std::chrono::milliseconds retry_delay{1000};  // doubles per retry, at most 30 s
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;
  std::string ca_bundle;  // certificates to trust instead of the system's ("" = the system's)
};

// HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN, as the hub's own tools read them;
// CURL_CA_BUNDLE or REQUESTS_CA_BUNDLE, which Python's hub client honours, for a mirror or a
// proxy signed by a company's own certificate authority.
HubSettings settings_from_environment();

struct DownloadRequest {
  std::string repo_id;            // "org/name"
  std::string revision = "main";  // a branch, tag or commit sha
  std::string variant;            // "" or e.g. "fp16"
  std::filesystem::path dest;     // empty: default_models_dir() / "org--name"
};

// One progress report. Byte counts include what earlier, interrupted runs left behind;
// speed and ETA count this run's bytes only. eta_seconds < 0 while unknown.
struct DownloadProgress {
  std::string file;
  std::size_t file_index = 0;  // 0-based
  std::size_t file_count = 0;
  std::uint64_t file_done = 0;
  std::uint64_t file_total = 0;  // 0 when unknown
  std::uint64_t total_done = 0;
  std::uint64_t total_total = 0;
  double bytes_per_second = 0;
  double eta_seconds = -1;
};

// Per job: progress (called on the downloading thread, at most ~10 times a second plus once
// per finished file), log lines, and a cancel flag checked while data flows.
struct DownloadCallbacks {
  std::function<void(const DownloadProgress&)> on_progress;
  LogSink log;
  const std::atomic<bool>* cancel = nullptr;
};

struct DownloadResult {
  std::filesystem::path folder;
  std::string commit;
  std::vector<std::string> files;
  std::uint64_t bytes_downloaded = 0;  // this run
  bool already_complete = false;       // the folder was a complete entry for this commit
  bool cancelled = false;              // stopped by the flag; .part files stay for a resume
};

// The hub client: lists a revision's files and downloads what a diffusers folder needs,
// resumable (HTTP Range into "<file>.part"), retried with backoff, verified (SHA-256 for
// LFS files, size for the rest) and renamed into place file by file; the folder becomes a
// complete cache entry (kCompleteMarker) only once every file is. Failures throw
// pawtrait::Error with a message a user can act on.
class HubClient {
 public:
  explicit HubClient(HubSettings settings = settings_from_environment());

  RepoListing list_files(const std::string& repo_id, const std::string& revision,
                         const std::atomic<bool>* cancel = nullptr) const;

  DownloadResult download(const DownloadRequest& request, const DownloadCallbacks& callbacks = {}) const;

  const HubSettings& settings() const { return settings_; }

 private:
  HubSettings settings_;
};

// "1.2 GB", "512 kB".
std::string format_bytes(std::uint64_t bytes);

}  // namespace pawtrait::hub
