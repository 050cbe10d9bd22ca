#include "hub/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <mutex>

#include "common/error.h"

namespace pawtrait::hub {
namespace {

constexpr std::size_t kMaxTextBody = 64u << 20;  // an API answer; anything bigger is not one

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("internal: libcurl failed to initialise");
  });
}

std::string trim(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  // download() only
  int fd = -1;
  std::uint64_t offset = 0;
  bool status_checked = false;
  bool to_file = false;
  const std::function<void(std::uint64_t, std::uint64_t)>* on_data = nullptr;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a redirect): forget its predecessor's headers except the hub's
    // X-Linked-* and X-Repo-Commit, which only the redirecting response carries.
    auto& headers = t->response->headers;
    for (auto it = headers.begin(); it != headers.end();) {
      const bool keep = it->first.rfind("x-linked-", 0) == 0 || it->first == "x-repo-commit";
      it = keep ? std::next(it) : headers.erase(it);
    }
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    t->response->headers[name] = trim(line.substr(colon + 1));
  }
  return size * count;
}

bool write_all(int fd, const char* data, std::size_t size, int& error_number) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_number = errno;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (t->cancel != nullptr && t->cancel->load()) {
    t->response->cancelled = true;
    return 0;  // CURLE_WRITE_ERROR, read as a cancel
  }
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (!t->to_file || status >= 300) {
    if (t->response->body.size() + bytes > kMaxTextBody) return 0;
    t->response->body.append(data, bytes);
    return bytes;
  }
  if (!t->status_checked) {
    t->status_checked = true;
    if (status == 200 && t->offset > 0) {
      // The server ignored Range and sends the whole file: start the file over.
      if (::ftruncate(t->fd, 0) != 0 || ::lseek(t->fd, 0, SEEK_SET) != 0) {
        t->response->write_errno = errno;
        return 0;
      }
      t->offset = 0;
      t->response->restarted = true;
    }
  }
  if (!write_all(t->fd, data, bytes, t->response->write_errno)) return 0;
  t->offset += bytes;
  t->response->bytes_written += bytes;
  if (t->on_data != nullptr && *t->on_data) (*t->on_data)(t->offset, t->response->bytes_written);
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->load()) {
    t->response->cancelled = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

}  // namespace

const char* redirect_protocols(const std::string& url) {
  return url.rfind("https://", 0) == 0 ? "https" : "http,https";
}

bool is_loopback_url(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  std::string host = url.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (const std::size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if (host.starts_with("[")) return host.starts_with("[::1]");
  host = host.substr(0, host.find(':'));
  const bool dotted_ipv4 =
      std::count(host.begin(), host.end(), '.') == 3 && host.find_first_not_of("0123456789.") == std::string::npos;
  return host == "localhost" || (dotted_ipv4 && host.starts_with("127."));
}

namespace {

HttpResponse perform(CURL* curl, const HttpConfig& config, const std::string& url, Transfer& transfer,
                     const std::string& range) {
  HttpResponse& response = *transfer.response;
  curl_easy_reset(curl);
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (!config.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + config.token).c_str());
  // The hub answers resolve requests for LFS files with a redirect; an Accept-Encoding of
  // identity keeps byte offsets (Range) meaning bytes of the file.
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT,
                   "pawtrait/"
                   "0.1");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, redirect_protocols(url));
  curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
  if (!config.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_bundle.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, config.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, config.stall_timeout_s);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  if (!range.empty()) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  response.curl_code = code;
  if (code != CURLE_OK) response.curl_message = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
  if (code == CURLE_ABORTED_BY_CALLBACK) response.cancelled = true;
  return response;
}

}  // namespace

std::string HttpResponse::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

bool is_transient_curl_error(int curl_code) {
  switch (curl_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool is_offline_curl_error(int curl_code) {
  return curl_code == CURLE_COULDNT_RESOLVE_HOST || curl_code == CURLE_COULDNT_RESOLVE_PROXY;
}

HttpClient::HttpClient(HttpConfig config) : handle_(nullptr), config_(std::move(config)) {
  global_init();
  handle_ = curl_easy_init();
  if (handle_ == nullptr) throw Error("internal: libcurl could not create a transfer");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

HttpResponse HttpClient::get(const std::string& url, const std::atomic<bool>* cancel) {
  HttpResponse response;
  Transfer transfer;
  transfer.curl = static_cast<CURL*>(handle_);
  transfer.response = &response;
  transfer.cancel = cancel;
  return perform(transfer.curl, config_, url, transfer, "");
}

HttpResponse HttpClient::download(const std::string& url, int fd, std::uint64_t offset, const std::atomic<bool>* cancel,
                                  const std::function<void(std::uint64_t, std::uint64_t)>& on_data) {
  HttpResponse response;
  Transfer transfer;
  transfer.curl = static_cast<CURL*>(handle_);
  transfer.response = &response;
  transfer.cancel = cancel;
  transfer.fd = fd;
  transfer.offset = offset;
  transfer.to_file = true;
  transfer.on_data = &on_data;
  return perform(transfer.curl, config_, url, transfer, offset > 0 ? std::to_string(offset) + "-" : "");
}

std::string HttpClient::escape(const std::string& text, bool keep_slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace pawtrait::hub
