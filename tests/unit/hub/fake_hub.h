#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pawtrait::testing {

// A stand-in for the Hugging Face hub on 127.0.0.1, for tests only (the product talks HTTP
// through libcurl). It serves repositories in the hub's URL layout:
//   GET /api/models/{org}/{name}/revision/{rev}[?blobs=true]   the file list (JSON)
//   GET /{org}/{name}/resolve/{rev}/{path}                     a file, with Range support
// with the hub's headers (X-Repo-Commit; for .safetensors files X-Linked-Etag/ETag = the
// SHA-256 and X-Linked-Size), and faults to inject. One connection at a time, each closed
// after its response.
class FakeHub {
 public:
  struct Request {
    std::string path;  // with the query
    std::string range;
    std::string authorization;
  };

  FakeHub();
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // Serves every file under `folder` as repo `repo_id` at commit `commit` (branch "main").
  void add_repo(const std::string& repo_id, const std::filesystem::path& folder, const std::string& commit);
  void add_file(const std::string& repo_id, const std::string& path, const std::string& bytes);

  // Faults.
  void drop_after_once(const std::string& path, std::size_t bytes);  // close mid-body, once
  void corrupt(const std::string& path);                             // flip a byte; headers keep the true hash
  void fail_once(const std::string& path, int status);               // one error answer, then normal
  void set_api_status(int status, const std::string& error_code = "");
  void require_token(const std::string& token);  // 401 without "Authorization: Bearer <token>"
  void ignore_range(bool ignore);                // answer Range requests with 200 and the whole file
  void list_metadata(bool with);                 // siblings without size/lfs (older API answers)
  void redirect_lfs(bool redirect);              // .safetensors: 302 to a "CDN" on host "localhost"
  void throttle(std::size_t chunk, int delay_ms);

  std::vector<Request> requests() const;
  std::vector<Request> requests_for(const std::string& path_part) const;

 private:
  struct Repo {
    std::string commit;
    std::map<std::string, std::string> files;
  };

  void serve();
  void handle(int fd);
  void send_file(int fd, const std::string& repo_id, const std::string& path, const std::string& range, bool from_hub);
  std::string listing(const std::string& repo_id, const Repo& repo, bool blobs) const;

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Repo> repos_;
  std::vector<Request> requests_;
  std::map<std::string, std::size_t> drop_after_;
  std::map<std::string, int> fail_once_;
  std::vector<std::string> corrupt_;
  int api_status_ = 0;
  std::string api_error_code_;
  std::string token_;
  bool ignore_range_ = false;
  bool list_metadata_ = true;
  bool redirect_lfs_ = false;
  std::size_t chunk_ = 1 << 20;
  int delay_ms_ = 0;
};

}  // namespace pawtrait::testing
