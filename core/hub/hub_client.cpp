#include "hub/hub_client.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "common/error.h"
#include "common/git_blob_id.h"
#include "common/sha256.h"
#include "hub/http.h"
#include "hub/hub_files.h"
#include "hub/model_cache.h"

namespace pawtrait::hub {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? std::string(value) : fallback;
}

// ETag values come quoted and sometimes weak: W/"abc…".
std::string strip_etag(std::string value) {
  if (value.rfind("W/", 0) == 0) value = value.substr(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value;
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::strtoull(text.c_str(), nullptr, 10);
}

// Sleeps up to `delay`, waking early (and returning false) when the job is cancelled.
bool backoff_sleep(std::chrono::milliseconds delay, const std::atomic<bool>* cancel) {
  const auto until = Clock::now() + delay;
  while (Clock::now() < until) {
    if (cancel != nullptr && cancel->load()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(20), until - Clock::now()));
  }
  return cancel == nullptr || !cancel->load();
}

std::chrono::milliseconds retry_delay(const HubSettings& settings, int attempt) {
  const double factor = std::pow(2.0, std::min(attempt, 16));
  return std::min(std::chrono::milliseconds(static_cast<long long>(settings.retry_delay.count() * factor)),
                  std::chrono::milliseconds(30000));
}

bool is_transient_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

// What the user reads when the hub says no. `file` is empty for the API's file list.
[[noreturn]] void throw_http_error(const HubSettings& settings, const HttpResponse& response,
                                   const std::string& repo_id, const std::string& revision, const std::string& file) {
  const long status = response.status;
  const std::string code = response.header("x-error-code");
  const std::string what = file.empty() ? repo_id : file + " of " + repo_id;
  if (status == 401) {
    if (settings.token.empty()) {
      throw Error("the hub refused " + what + " (401): either there is no such model, or it is private or " +
                  "gated and this model needs a Hugging Face token: check the id, create a read token at " +
                  settings.endpoint + "/settings/tokens and set HF_TOKEN to it");
    }
    throw Error("the hub refused " + what + " with your token (401): the model may not exist, or the token in " +
                "HF_TOKEN is invalid or expired: check the id and create a new read token at " + settings.endpoint +
                "/settings/tokens");
  }
  if (status == 403) {
    throw Error("access to " + repo_id + " is restricted (403): it is a gated model. Open " + settings.endpoint + "/" +
                repo_id + " while logged in, accept its licence, then set HF_TOKEN to a read token of that " +
                "account" + (settings.token.empty() ? "" : " (the current token's account has no access yet)"));
  }
  if (status == 404) {
    if (code == "RevisionNotFound") {
      throw Error("model " + repo_id + " has no revision \"" + revision +
                  "\" (404): use a branch, tag or commit that exists, or leave out --revision for main");
    }
    if (!file.empty() && code != "RepoNotFound") {
      throw Error(file + " is not in " + repo_id + " at revision " + revision +
                  " (404), though the hub listed it: run the command again; if it persists, try another --revision");
    }
    throw Error("there is no model " + repo_id + " at revision " + revision + " on " + settings.endpoint +
                " (404): check the id (org/name, as on the model's page) and --revision");
  }
  if (status == 416) {
    throw Error("the hub could not resume " + what + " (416): delete the .part file and run the command again");
  }
  std::string detail = response.body.substr(0, 200);
  detail.erase(std::remove(detail.begin(), detail.end(), '\n'), detail.end());
  throw Error("the hub answered HTTP " + std::to_string(status) + " for " + what +
              (detail.empty() ? "" : " (" + detail + ")") +
              (is_transient_status(status) ? ": it is busy or failing; try again later" : ""));
}

[[noreturn]] void throw_transport_error(const HubSettings& settings, const HttpResponse& response,
                                        const std::string& what, int tries) {
  if (response.curl_code == 1 /* CURLE_UNSUPPORTED_PROTOCOL: a redirect to a scheme not allowed */) {
    throw Error("the hub sent " + what + " from https on to a plain http address (" + response.curl_message +
                "), which Pawtrait does not follow: the file would travel in clear. Check HF_ENDPOINT, or the proxy "
                "between you and the hub");
  }
  if (is_offline_curl_error(response.curl_code) || response.curl_code == 7 /* CURLE_COULDNT_CONNECT */) {
    throw Error("can't reach the hub at " + settings.endpoint + " (" + response.curl_message +
                "): check your internet connection, or set HF_ENDPOINT to a hub mirror you can reach");
  }
  throw Error("downloading " + what + " kept failing (" + response.curl_message + ", " + std::to_string(tries) +
              " tries): check your connection and run the command again; it continues where it stopped");
}

// Progress over a whole download: throttled, with speed over the last few seconds.
class ProgressMeter {
 public:
  ProgressMeter(const DownloadCallbacks& callbacks, std::size_t file_count, std::uint64_t total)
      : callbacks_(callbacks) {
    progress_.file_count = file_count;
    progress_.total_total = total;
  }

  void start_file(std::size_t index, const std::string& file, std::uint64_t file_total, std::uint64_t done_before) {
    progress_.file_index = index;
    progress_.file = file;
    progress_.file_total = file_total;
    progress_.file_done = 0;
    file_base_ = done_before;
  }

  // `file_done`: bytes of the current file on disk; `fresh`: bytes this run received.
  void update(std::uint64_t file_done, std::uint64_t fresh, bool force) {
    progress_.file_done = file_done;
    progress_.total_done = file_base_ + file_done;
    fresh_ = fresh;
    const auto now = Clock::now();
    if (!force && now - last_report_ < std::chrono::milliseconds(100)) return;
    last_report_ = now;
    samples_.push_back({now, fresh_});
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(5)) samples_.pop_front();
    const double seconds = std::chrono::duration<double>(now - samples_.front().first).count();
    if (seconds > 0.2) progress_.bytes_per_second = (fresh_ - samples_.front().second) / seconds;
    const std::uint64_t total = std::max(progress_.total_total, progress_.total_done);
    progress_.eta_seconds =
        progress_.bytes_per_second > 0 ? (total - progress_.total_done) / progress_.bytes_per_second : -1.0;
    if (callbacks_.on_progress) callbacks_.on_progress(progress_);
  }

  void finish_file(std::uint64_t size) {
    progress_.file_total = size;
    update(size, fresh_, true);
  }

  std::uint64_t fresh() const { return fresh_; }

 private:
  const DownloadCallbacks& callbacks_;
  DownloadProgress progress_;
  std::uint64_t file_base_ = 0;
  std::uint64_t fresh_ = 0;
  Clock::time_point last_report_{};
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
};

std::uint64_t file_size_or_zero(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

void check_disk_space(const fs::path& folder, std::uint64_t needed) {
  std::error_code error;
  const auto space = fs::space(folder, error);
  if (error || needed <= space.available) return;
  throw Error("not enough disk space in " + folder.string() + ": the model needs " + format_bytes(needed) + " more, " +
              format_bytes(space.available) + " are free. Free some space or choose another --dest");
}

[[noreturn]] void throw_write_error(const fs::path& file, int error_number, std::uint64_t needed) {
  if (error_number == ENOSPC || error_number == EDQUOT) {
    std::error_code error;
    const auto space = fs::space(file.parent_path(), error);
    throw Error("not enough disk space in " + file.parent_path().string() + ": need " + format_bytes(needed) +
                " more, free " + format_bytes(error ? 0 : space.available) +
                ". Free some space and run the command again; it continues where it stopped");
  }
  throw Error("can't write " + file.string() + ": " + std::strerror(error_number));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(const fs::path& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw Error("can't create " + path.string() + ": " + std::strerror(errno));
  }
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// One download into a folder at a time, across processes: a second one (another window, a
// CLI run beside the app) would write the same .part files. flock() is let go when the
// process ends however it ends, so a killed download never leaves the folder locked. The
// file stays (removing it would let two processes lock two different files).
class FolderLock {
 public:
  FolderLock(const fs::path& folder, const std::string& repo_id) {
    const fs::path file = folder / ".pawtrait-download.lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("can't create " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd_);
      if (error == EWOULDBLOCK) {
        throw Error("another download of " + repo_id + " into " + folder.string() +
                    " is running (in this or another Pawtrait): let it finish, or stop it, then run this again");
      }
      throw Error("can't lock " + file.string() + ": " + std::strerror(error));
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// Downloads one file of a model into place; returns false when cancelled.
class FileDownloader {
 public:
  FileDownloader(const HubSettings& settings, HttpClient& http, const DownloadCallbacks& callbacks,
                 ProgressMeter& meter, const std::string& repo_id, const std::string& commit)
      : settings_(settings), http_(http), callbacks_(callbacks), meter_(meter), repo_id_(repo_id), commit_(commit) {}

  // Bytes received by this run, over all files fetched so far.
  std::uint64_t bytes() const { return bytes_; }

  bool fetch(const RepoFile& file, const fs::path& target) {
    const fs::path part = target.string() + ".part";
    const std::string url = settings_.endpoint + "/" + HttpClient::escape(repo_id_, true) + "/resolve/" +
                            HttpClient::escape(commit_, false) + "/" + HttpClient::escape(file.path, true);
    std::optional<std::uint64_t> size = file.size;
    std::optional<std::string> sha256 = file.sha256;
    std::optional<std::string> blob_id = file.blob_id;
    bool fresh_start_done = false;  // a checksum failure after a resume earns one clean retry
    int failures = 0;
    int attempts = 0;
    std::uint64_t fresh_at_start = meter_.fresh();

    for (;;) {
      std::uint64_t offset = file_size_or_zero(part);
      if (size && offset > *size) {
        fs::remove(part);
        offset = 0;
      }
      const bool resumed = offset > 0;
      bool transferred = size && offset == *size;  // a complete .part from a run stopped before verifying
      if (!transferred) {
        if (resumed) log_to(callbacks_.log, LogLevel::Info, "resuming " + file.path + " at " + format_bytes(offset));
        FileDescriptor fd(part);
        if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) throw_write_error(part, errno, 0);
        const std::uint64_t fresh_before = meter_.fresh();
        const HttpResponse response = http_.download(url, fd.get(), offset, callbacks_.cancel,
                                                     [&](std::uint64_t on_disk, std::uint64_t received) {
                                                       meter_.update(on_disk, fresh_before + received, false);
                                                     });
        if (response.restarted) offset = 0;
        meter_.update(offset + response.bytes_written, fresh_before + response.bytes_written, true);
        if (response.cancelled) return false;
        if (response.write_errno != 0) {
          throw_write_error(part, response.write_errno, size ? *size - std::min(*size, offset) : 0);
        }
        learn_from_headers(response, size, sha256, blob_id);
        if (response.curl_code == 0 && (response.status == 200 || response.status == 206)) {
          if (::fsync(fd.get()) != 0) throw_write_error(part, errno, 0);
          transferred = true;
        } else if (response.curl_code == 0 && response.status == 416 && resumed) {
          transferred = true;  // asked past the end: the .part holds the whole file; verify decides
        } else if (response.curl_code == 0 && !is_transient_status(response.status)) {
          throw_http_error(settings_, response, repo_id_, commit_, file.path);
        } else if (response.curl_code == 1 /* CURLE_UNSUPPORTED_PROTOCOL */) {
          throw_transport_error(settings_, response, file.path, 1);
        } else {
          // Dropped, stalled, refused, 5xx or 429: wait and go on from what is on disk.
          // Retries count afresh while data keeps arriving, within a bound for a server that
          // both drops connections and ignores Range (which would never finish).
          const bool progressed = response.bytes_written > 0 && !response.restarted;
          failures = progressed ? 1 : failures + 1;
          if (failures > settings_.max_retries || ++attempts > 20 * (settings_.max_retries + 1)) {
            if (response.curl_code != 0) throw_transport_error(settings_, response, file.path, failures);
            throw_http_error(settings_, response, repo_id_, commit_, file.path);
          }
          const std::string reason =
              response.curl_code != 0 ? response.curl_message : "HTTP " + std::to_string(response.status);
          log_to(callbacks_.log, LogLevel::Warning,
                 file.path + ": " + reason + "; retrying (" + std::to_string(failures) + "/" +
                     std::to_string(settings_.max_retries) + ")");
          if (!backoff_sleep(retry_delay(settings_, failures - 1), callbacks_.cancel)) return false;
          continue;
        }
      }
      const std::optional<std::string> problem = verify(part, size, sha256, blob_id, callbacks_.cancel);
      if (!problem) return false;  // stopped while checking; the part file stays for a resume
      if (problem->empty()) break;
      fs::remove(part);
      if (resumed && !fresh_start_done) {
        log_to(callbacks_.log, LogLevel::Warning,
               file.path + ": " + *problem + "; downloading it again from the start");
        fresh_start_done = true;
        continue;
      }
      throw Error(file.path + " of " + repo_id_ + " is corrupt: " + *problem +
                  ". The bad download was deleted; run the command again (if it keeps happening, a proxy or "
                  "mirror may be altering downloads)");
    }
    fs::rename(part, target);
    bytes_ += meter_.fresh() - fresh_at_start;
    return true;
  }

 private:
  void learn_from_headers(const HttpResponse& response, std::optional<std::uint64_t>& size,
                          std::optional<std::string>& sha256, std::optional<std::string>& blob_id) const {
    // The hub sends an LFS file's SHA-256 as X-Linked-Etag on the redirecting response
    // (and as the ETag when it serves the file itself); other files' ETags are their git
    // blob ids. A CDN's own ETag is neither, and is not used.
    if (!sha256) {
      std::string etag = strip_etag(response.header("x-linked-etag"));
      if (!is_hex_digest(etag, 64)) etag = strip_etag(response.header("etag"));
      if (is_hex_digest(etag, 64)) sha256 = etag;
    }
    if (!sha256 && !blob_id && response.header("x-linked-etag").empty()) {
      const std::string etag = strip_etag(response.header("etag"));
      if (is_hex_digest(etag, 40)) blob_id = etag;
    }
    if (!size) size = parse_size(response.header("x-linked-size"));
    if (!size && response.status == 200 && response.header("content-encoding").empty()) {
      size = parse_size(response.header("content-length"));
    }
    if (!size && response.status == 206) {
      const std::string range = response.header("content-range");  // "bytes 100-199/200"
      const auto slash = range.rfind('/');
      if (slash != std::string::npos) size = parse_size(range.substr(slash + 1));
    }
  }

  // What is wrong with a downloaded file ("" when nothing), or nothing when cancelled.
  static std::optional<std::string> verify(const fs::path& part, const std::optional<std::uint64_t>& size,
                                           const std::optional<std::string>& sha256,
                                           const std::optional<std::string>& blob_id, const std::atomic<bool>* cancel) {
    const std::uint64_t actual = file_size_or_zero(part);
    if (size && actual != *size) {
      return "it has " + std::to_string(actual) + " bytes, the hub says " + std::to_string(*size);
    }
    if (sha256) {
      const std::optional<std::string> digest = sha256_file(part, cancel);
      if (!digest) return std::nullopt;
      if (*digest != *sha256) return "its SHA-256 is " + *digest + ", the hub says " + *sha256;
    } else if (blob_id) {
      const std::optional<std::string> id = git_blob_id_of_file(part, cancel);
      if (!id) return std::nullopt;
      if (*id != *blob_id) return "its git blob id is " + *id + ", the hub says " + *blob_id;
    }
    return std::string();
  }

  const HubSettings& settings_;
  HttpClient& http_;
  const DownloadCallbacks& callbacks_;
  ProgressMeter& meter_;
  const std::string& repo_id_;
  const std::string& commit_;
  std::uint64_t bytes_ = 0;
};

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

HubSettings settings_from_environment() {
  HubSettings settings;
  settings.endpoint = env_or("HF_ENDPOINT", settings.endpoint);
  settings.token = env_or("HF_TOKEN", "");
  settings.ca_bundle = env_or("CURL_CA_BUNDLE", env_or("REQUESTS_CA_BUNDLE", ""));
  return settings;
}

HubClient::HubClient(HubSettings settings) : settings_(std::move(settings)) {
  while (!settings_.endpoint.empty() && settings_.endpoint.back() == '/') settings_.endpoint.pop_back();
  if (settings_.endpoint.rfind("https://", 0) != 0 && settings_.endpoint.rfind("http://", 0) != 0) {
    throw Error("HF_ENDPOINT must be an http:// or https:// address, not \"" + settings_.endpoint + "\"");
  }
  if (!settings_.token.empty() && settings_.endpoint.rfind("http://", 0) == 0 && !is_loopback_url(settings_.endpoint)) {
    throw Error("HF_TOKEN is set, and HF_ENDPOINT " + settings_.endpoint +
                " is plain http, where the token would travel in clear: use the mirror's https:// address, or "
                "unset HF_TOKEN for a mirror that needs none");
  }
}

RepoListing HubClient::list_files(const std::string& repo_id, const std::string& revision,
                                  const std::atomic<bool>* cancel) const {
  validate_repo_id(repo_id);
  HttpClient http({settings_.token, settings_.connect_timeout_s, settings_.stall_timeout_s, settings_.ca_bundle});
  const std::string url = settings_.endpoint + "/api/models/" + HttpClient::escape(repo_id, true) + "/revision/" +
                          HttpClient::escape(revision, false) + "?blobs=true";
  for (int attempt = 1;; ++attempt) {
    const HttpResponse response = http.get(url, cancel);
    if (response.cancelled) throw Error("cancelled");
    if (response.curl_code == 0 && response.status == 200) {
      RepoListing listing = parse_repo_listing(response.body, repo_id);
      if (listing.commit.empty()) listing.commit = revision;
      return listing;
    }
    if (is_offline_curl_error(response.curl_code)) throw_transport_error(settings_, response, "the file list", 1);
    const bool transient =
        response.curl_code != 0 ? is_transient_curl_error(response.curl_code) : is_transient_status(response.status);
    if (!transient) {
      if (response.curl_code != 0) throw_transport_error(settings_, response, "the file list", attempt);
      throw_http_error(settings_, response, repo_id, revision, "");
    }
    if (attempt > settings_.max_retries) {
      if (response.curl_code != 0) throw_transport_error(settings_, response, "the file list", attempt);
      throw_http_error(settings_, response, repo_id, revision, "");
    }
    if (!backoff_sleep(retry_delay(settings_, attempt - 1), cancel)) throw Error("cancelled");
  }
}

DownloadResult HubClient::download(const DownloadRequest& request, const DownloadCallbacks& callbacks) const {
  validate_repo_id(request.repo_id);
  DownloadResult result;
  result.folder = request.dest.empty() ? default_models_dir() / cache_folder_name(request.repo_id) : request.dest;

  RepoListing listing;
  try {
    listing = list_files(request.repo_id, request.revision, callbacks.cancel);
  } catch (const Error&) {
    if (callbacks.cancel != nullptr && callbacks.cancel->load()) {
      result.cancelled = true;
      return result;
    }
    throw;
  }
  result.commit = listing.commit;
  const std::vector<RepoFile> files = select_model_files(listing, request.variant);
  if (std::none_of(files.begin(), files.end(), [](const RepoFile& f) { return f.path == "model_index.json"; })) {
    throw Error(request.repo_id + " is not a diffusers model (it has no model_index.json at revision " +
                request.revision + "): Pawtrait downloads diffusers-format Stable Diffusion models; for a single " +
                ".safetensors checkpoint, download it yourself and open the file");
  }
  for (const auto& file : files) result.files.push_back(file.path);
  log_to(callbacks.log, LogLevel::Info,
         request.repo_id + "@" + request.revision + " is commit " + listing.commit + "; " +
             std::to_string(files.size()) + " files to fetch into " + result.folder.string());

  if (const auto marker = read_complete_marker(result.folder);
      marker && marker->commit == listing.commit && marker->variant == request.variant &&
      std::all_of(files.begin(), files.end(), [&](const RepoFile& f) { return fs::exists(result.folder / f.path); })) {
    result.already_complete = true;
    return result;
  }

  std::error_code error;
  fs::create_directories(result.folder, error);
  if (error) throw Error("can't create " + result.folder.string() + ": " + error.message());
  const FolderLock lock(result.folder, request.repo_id);
  remove_complete_marker(result.folder);

  // Bytes already in place or in .part files count as done; what is left must fit.
  std::uint64_t total = 0, needed = 0;
  for (const auto& file : files) {
    const std::uint64_t size = file.size.value_or(0);
    total += size;
    const fs::path target = result.folder / file.path;
    if (fs::exists(target)) continue;
    needed += size - std::min(size, file_size_or_zero(target.string() + ".part"));
  }
  check_disk_space(result.folder, needed);

  HttpClient http({settings_.token, settings_.connect_timeout_s, settings_.stall_timeout_s, settings_.ca_bundle});
  ProgressMeter meter(callbacks, files.size(), total);
  FileDownloader downloader(settings_, http, callbacks, meter, request.repo_id, listing.commit);
  std::uint64_t done = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const RepoFile& file = files[i];
    const fs::path target = result.folder / file.path;
    meter.start_file(i, file.path, file.size.value_or(0), done);
    fs::create_directories(target.parent_path(), error);
    if (error) throw Error("can't create " + target.parent_path().string() + ": " + error.message());
    // A file in place was verified before it was renamed there.
    const bool in_place = fs::exists(target) && (!file.size || file_size_or_zero(target) == *file.size);
    if (!in_place && !downloader.fetch(file, target)) {
      result.cancelled = true;
      result.bytes_downloaded = downloader.bytes();
      log_to(callbacks.log, LogLevel::Info, "download cancelled; partial files are kept for a resume");
      return result;
    }
    done += file_size_or_zero(target);
    meter.finish_file(file_size_or_zero(target));
  }
  result.bytes_downloaded = downloader.bytes();

  CachedModel model;
  model.folder = result.folder;
  model.repo_id = request.repo_id;
  model.revision = request.revision;
  model.commit = listing.commit;
  model.variant = request.variant;
  model.files = result.files;
  write_complete_marker(model);
  log_to(callbacks.log, LogLevel::Info,
         "downloaded " + format_bytes(result.bytes_downloaded) + "; " + result.folder.string() + " is complete");
  return result;
}

}  // namespace pawtrait::hub
