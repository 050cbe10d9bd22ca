#include "unit/hub/fake_hub.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/git_blob_id.h"
#include "common/sha256.h"

namespace pawtrait::testing {
namespace {

namespace fs = std::filesystem;

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_text(int fd, const std::string& text) { return send_all(fd, text.data(), text.size()); }

std::string status_line(int status) {
  const char* reason = status == 200   ? "OK"
                       : status == 206 ? "Partial Content"
                       : status == 302 ? "Found"
                       : status == 401 ? "Unauthorized"
                       : status == 403 ? "Forbidden"
                       : status == 404 ? "Not Found"
                       : status == 416 ? "Range Not Satisfiable"
                                       : "Error";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
}

void send_simple(int fd, int status, const std::string& body, const std::string& extra_headers = "") {
  send_text(fd, status_line(status) + extra_headers + "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

FakeHub::FakeHub() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("FakeHub: socket failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("FakeHub: bind/listen failed");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeHub::~FakeHub() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void FakeHub::add_repo(const std::string& repo_id, const fs::path& folder, const std::string& commit) {
  std::lock_guard lock(mutex_);
  Repo& repo = repos_[repo_id];
  repo.commit = commit;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) {
      repo.files[fs::relative(entry.path(), folder).generic_string()] = read_file(entry.path());
    }
  }
}

void FakeHub::add_file(const std::string& repo_id, const std::string& path, const std::string& bytes) {
  std::lock_guard lock(mutex_);
  repos_[repo_id].files[path] = bytes;
}

void FakeHub::drop_after_once(const std::string& path, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  drop_after_[path] = bytes;
}
void FakeHub::corrupt(const std::string& path) {
  std::lock_guard lock(mutex_);
  corrupt_.push_back(path);
}
void FakeHub::fail_once(const std::string& path, int status) {
  std::lock_guard lock(mutex_);
  fail_once_[path] = status;
}
void FakeHub::set_api_status(int status, const std::string& error_code) {
  std::lock_guard lock(mutex_);
  api_status_ = status;
  api_error_code_ = error_code;
}
void FakeHub::require_token(const std::string& token) {
  std::lock_guard lock(mutex_);
  token_ = token;
}
void FakeHub::ignore_range(bool ignore) {
  std::lock_guard lock(mutex_);
  ignore_range_ = ignore;
}
void FakeHub::list_metadata(bool with) {
  std::lock_guard lock(mutex_);
  list_metadata_ = with;
}
void FakeHub::redirect_lfs(bool redirect) {
  std::lock_guard lock(mutex_);
  redirect_lfs_ = redirect;
}
void FakeHub::throttle(std::size_t chunk, int delay_ms) {
  std::lock_guard lock(mutex_);
  chunk_ = chunk;
  delay_ms_ = delay_ms;
}

std::vector<FakeHub::Request> FakeHub::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<FakeHub::Request> FakeHub::requests_for(const std::string& path_part) const {
  std::vector<Request> matching;
  for (const auto& r : requests()) {
    if (r.path.find(path_part) != std::string::npos) matching.push_back(r);
  }
  return matching;
}

void FakeHub::serve() {
  while (!stop_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void FakeHub::handle(int fd) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 2000) <= 0) return;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  std::istringstream lines(head);
  std::string method, target, version, line;
  lines >> method >> target >> version;
  std::getline(lines, line);
  Request request;
  request.path = target;
  while (std::getline(lines, line) && line != "\r") {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (!value.empty() && value.back() == '\r') value.pop_back();
    if (name == "range") request.range = value;
    if (name == "authorization") request.authorization = value;
  }
  std::string token;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    token = token_;
  }

  const bool is_cdn = target.rfind("/cdn/", 0) == 0;
  if (!token.empty() && !is_cdn && request.authorization != "Bearer " + token) {
    send_simple(fd, 401, R"({"error":"Invalid credentials"})");
    return;
  }
  const std::string api = "/api/models/";
  if (target.rfind(api, 0) == 0) {
    const auto at = target.find("/revision/");
    const auto query = target.find('?');
    const std::string repo_id = target.substr(api.size(), at - api.size());
    const std::string revision =
        at == std::string::npos ? "main" : target.substr(at + 10, std::min(query, target.size()) - at - 10);
    std::lock_guard lock(mutex_);
    if (api_status_ != 0) {
      send_simple(fd, api_status_, R"({"error":"no"})",
                  api_error_code_.empty() ? "" : "X-Error-Code: " + api_error_code_ + "\r\n");
      return;
    }
    const auto repo = repos_.find(repo_id);
    if (repo == repos_.end()) {
      send_simple(fd, 404, R"({"error":"Repository not found"})", "X-Error-Code: RepoNotFound\r\n");
      return;
    }
    if (revision != "main" && revision != repo->second.commit) {
      send_simple(fd, 404, R"({"error":"Invalid rev id"})", "X-Error-Code: RevisionNotFound\r\n");
      return;
    }
    send_simple(fd, 200, listing(repo_id, repo->second, target.find("blobs=true") != std::string::npos));
    return;
  }
  // /{org}/{name}/resolve/{rev}/{path} or /cdn/{org}/{name}/{path}
  std::string rest = is_cdn ? target.substr(5) : target.substr(1);
  const auto first = rest.find('/');
  const auto second = first == std::string::npos ? first : rest.find('/', first + 1);
  if (second == std::string::npos) {
    send_simple(fd, 404, "{}");
    return;
  }
  const std::string repo_id = rest.substr(0, second);
  std::string path = rest.substr(second + 1);
  if (!is_cdn) {
    const std::string resolve = "resolve/";
    if (path.rfind(resolve, 0) != 0 || path.find('/', resolve.size()) == std::string::npos) {
      send_simple(fd, 404, "{}");
      return;
    }
    path = path.substr(path.find('/', resolve.size()) + 1);
  }
  send_file(fd, repo_id, path, request.range, !is_cdn);
}

void FakeHub::send_file(int fd, const std::string& repo_id, const std::string& path, const std::string& range,
                        bool from_hub) {
  std::unique_lock lock(mutex_);
  const auto repo = repos_.find(repo_id);
  if (repo == repos_.end() || !repo->second.files.count(path)) {
    send_simple(fd, 404, R"({"error":"Entry not found"})", "X-Error-Code: EntryNotFound\r\n");
    return;
  }
  if (from_hub) {
    if (const auto fail = fail_once_.find(path); fail != fail_once_.end()) {
      const int status = fail->second;
      fail_once_.erase(fail);
      send_simple(fd, status, "{}");
      return;
    }
  }
  std::string bytes = repo->second.files[path];
  const bool lfs = path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0;
  std::string headers = "X-Repo-Commit: " + repo->second.commit + "\r\n";
  if (lfs && from_hub) {
    const std::string sha = sha256_hex(bytes);
    headers += "X-Linked-Etag: \"" + sha + "\"\r\nX-Linked-Size: " + std::to_string(bytes.size()) + "\r\n";
    if (redirect_lfs_) {
      // Another host name for the same server, as the hub's CDN is another host.
      headers += "Location: http://localhost:" + std::to_string(port_) + "/cdn/" + repo_id + "/" + path + "\r\n";
      lock.unlock();
      send_text(fd, status_line(302) + headers + "Content-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    headers += "ETag: \"" + sha + "\"\r\n";
  } else if (!lfs) {
    headers += "ETag: \"" + git_blob_id(bytes) + "\"\r\n";  // the true content's, as the hub sends
  } else {
    headers += "ETag: \"cdn-object-1\"\r\n";
  }
  if (std::find(corrupt_.begin(), corrupt_.end(), path) != corrupt_.end()) bytes[bytes.size() / 2] ^= 0x5a;

  std::size_t start = 0;
  int status = 200;
  if (range.rfind("bytes=", 0) == 0 && !ignore_range_) {
    start = std::stoull(range.substr(6));
    if (start >= bytes.size()) {
      lock.unlock();
      send_text(fd, status_line(416) + "Content-Range: bytes */" + std::to_string(bytes.size()) +
                        "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    status = 206;
    headers += "Content-Range: bytes " + std::to_string(start) + "-" + std::to_string(bytes.size() - 1) + "/" +
               std::to_string(bytes.size()) + "\r\n";
  }
  std::size_t limit = bytes.size() - start;
  if (const auto drop = drop_after_.find(path); drop != drop_after_.end()) {
    limit = std::min(limit, drop->second);
    drop_after_.erase(drop);
  }
  const std::size_t chunk = chunk_;
  const int delay_ms = delay_ms_;
  lock.unlock();

  if (!send_text(fd, status_line(status) + headers + "Content-Type: application/octet-stream\r\nContent-Length: " +
                         std::to_string(bytes.size() - start) +
                         "\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n")) {
    return;
  }
  for (std::size_t sent = 0; sent < limit && !stop_;) {
    const std::size_t n = std::min(chunk, limit - sent);
    if (!send_all(fd, bytes.data() + start + sent, n)) return;
    sent += n;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
}

std::string FakeHub::listing(const std::string& repo_id, const Repo& repo, bool blobs) const {
  nlohmann::json siblings = nlohmann::json::array();
  for (const auto& [path, bytes] : repo.files) {
    nlohmann::json sibling = {{"rfilename", path}};
    if (blobs && list_metadata_) {
      sibling["size"] = bytes.size();
      sibling["blobId"] = git_blob_id(bytes);
      if (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
        // An LFS file's blob is its pointer, not its content.
        const std::string pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256_hex(bytes) +
                                    "\nsize " + std::to_string(bytes.size()) + "\n";
        sibling["blobId"] = git_blob_id(pointer);
        sibling["lfs"] = {{"sha256", sha256_hex(bytes)}, {"size", bytes.size()}, {"pointerSize", pointer.size()}};
      }
    }
    siblings.push_back(sibling);
  }
  return nlohmann::json{{"id", repo_id}, {"sha", repo.commit}, {"private", false}, {"siblings", siblings}}.dump();
}

}  // namespace pawtrait::testing
