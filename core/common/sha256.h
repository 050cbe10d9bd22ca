#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace pawtrait {

// An incremental digest (OpenSSL's libcrypto); lowercase hex.
class Digest {
 public:
  enum class Algorithm { sha256, sha1 };  // SHA-1 only names git objects (common/git_blob_id.h)
  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(const void* data, std::size_t size);
  std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// SHA-256, as the hub writes it in its LFS metadata and X-Linked-Etag headers.
class Sha256 : public Digest {
 public:
  Sha256() : Digest(Algorithm::sha256) {}
};

std::string sha256_hex(const std::string& bytes);
// Throws pawtrait::Error naming the file when it can't be read; nothing when `cancel` is
// raised part way (a multi-gigabyte file takes a while).
std::optional<std::string> sha256_file(const std::filesystem::path& file, const std::atomic<bool>* cancel = nullptr);

}  // namespace pawtrait
