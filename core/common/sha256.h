#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace pawtrait {

// Incremental SHA-256 (OpenSSL's libcrypto); digests are lowercase hex, as the hub writes
// them in its LFS metadata and X-Linked-Etag headers.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(const std::string& bytes);
// Throws pawtrait::Error naming the file when it can't be read; nothing when `cancel` is
// raised part way (a multi-gigabyte file takes a while).
std::optional<std::string> sha256_file(const std::filesystem::path& file, const std::atomic<bool>* cancel = nullptr);

}  // namespace pawtrait
