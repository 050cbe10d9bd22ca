#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace pawtrait::hub {

// libcurl, wrapped for the two things the hub client does: fetch a small text (the API's
// file list) and stream a file to disk from an offset. Redirects are followed; the bearer
// token is a custom Authorization header, which libcurl sends to the original host only,
// never to the CDN a resolve URL redirects to.
struct HttpConfig {
  std::string token;
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;  // a transfer slower than 1 byte/s for this long counts as dropped
  std::string ca_bundle;      // a PEM file of certificates to trust ("" = the system's)
};

// What one request came back with. Transport failures are in curl_code/curl_message
// (curl_code 0 means the exchange completed, whatever its HTTP status).
struct HttpResponse {
  int curl_code = 0;
  std::string curl_message;
  long status = 0;
  // Lowercase names. Headers of redirect responses are kept unless a later response
  // repeats them, so the hub's X-Linked-Etag / X-Linked-Size survive the CDN redirect.
  std::map<std::string, std::string> headers;
  std::string body;        // get(): the text; download(): the body of an error status
  bool cancelled = false;  // the cancel flag stopped it
  int write_errno = 0;     // download(): writing to the file failed with this errno
  bool restarted = false;  // download(): a Range request was answered with the whole file
  std::uint64_t bytes_written = 0;

  std::string header(const std::string& lowercase_name) const;
};

// The schemes a redirect from `url` may go to: an https address never falls back to http
// (where the file, or a token, would travel in clear).
const char* redirect_protocols(const std::string& url);

// True for an address on this machine (localhost, 127.x.y.z, [::1]), where http carries a
// token no further than the machine itself.
bool is_loopback_url(const std::string& url);

// Transport failures worth another try: a dropped or stalled connection, a refused one.
bool is_transient_curl_error(int curl_code);
// DNS failures: the machine is offline, or HF_ENDPOINT names a host that does not exist.
bool is_offline_curl_error(int curl_code);

class HttpClient {
 public:
  explicit HttpClient(HttpConfig config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse get(const std::string& url, const std::atomic<bool>* cancel);

  // Streams `url` into the open file `fd`, which holds `offset` bytes already: with offset
  // > 0 it asks for "Range: bytes=offset-"; a server that answers 200 instead restarts the
  // file from byte 0 (response.restarted). on_data(bytes now in the file, bytes received by
  // this request) is called as data arrives. Error statuses write nothing to the file.
  HttpResponse download(const std::string& url, int fd, std::uint64_t offset, const std::atomic<bool>* cancel,
                        const std::function<void(std::uint64_t, std::uint64_t)>& on_data);

  // Percent-encodes for a URL path; keep_slashes leaves '/' as a separator.
  static std::string escape(const std::string& text, bool keep_slashes);

 private:
  void* handle_;  // CURL*
  HttpConfig config_;
};

}  // namespace pawtrait::hub
