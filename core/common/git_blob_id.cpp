#include "common/git_blob_id.h"

#include <openssl/evp.h>

#include <memory>

#include "common/error.h"
#include "common/file_chunks.h"

namespace pawtrait {
namespace {

// SHA-1 only names git objects here; nothing trusts it against an attacker who can also
// change the listing (the LFS weights are checked by SHA-256).
class Sha1 {
 public:
  Sha1() : context_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha1(), nullptr) != 1) {
      throw Error("internal: OpenSSL could not start a SHA-1 digest");
    }
  }
  void update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(context_.get(), data, size) != 1) throw Error("internal: OpenSSL SHA-1 update failed");
  }
  std::string hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest, &length) != 1) throw Error("internal: OpenSSL SHA-1 final failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

std::string object_header(std::uintmax_t size) { return "blob " + std::to_string(size) + std::string(1, '\0'); }

}  // namespace

std::string git_blob_id(const std::string& bytes) {
  Sha1 sha;
  const std::string header = object_header(bytes.size());
  sha.update(header.data(), header.size());
  sha.update(bytes.data(), bytes.size());
  return sha.hex_digest();
}

std::optional<std::string> git_blob_id_of_file(const std::filesystem::path& file, const std::atomic<bool>* cancel) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  if (error) throw Error("can't read " + file.string() + ": " + error.message());
  Sha1 sha;
  const std::string header = object_header(size);
  sha.update(header.data(), header.size());
  if (!read_in_chunks(file, cancel, [&](const char* data, std::size_t n) { sha.update(data, n); })) return std::nullopt;
  return sha.hex_digest();
}

}  // namespace pawtrait
