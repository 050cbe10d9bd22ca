#include "common/sha256.h"

#include <openssl/evp.h>

#include "common/error.h"
#include "common/file_chunks.h"

namespace pawtrait {

struct Digest::State {
  EVP_MD_CTX* context = nullptr;
};

Digest::Digest(Algorithm algorithm) : state_(std::make_unique<State>()) {
  state_->context = EVP_MD_CTX_new();
  const EVP_MD* md = algorithm == Algorithm::sha256 ? EVP_sha256() : EVP_sha1();
  if (state_->context == nullptr || EVP_DigestInit_ex(state_->context, md, nullptr) != 1) {
    EVP_MD_CTX_free(state_->context);  // the destructor does not run for a constructor that throws
    throw Error("internal: OpenSSL could not start a digest");
  }
}

Digest::~Digest() { EVP_MD_CTX_free(state_->context); }

void Digest::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(state_->context, data, size) != 1) throw Error("internal: OpenSSL digest update failed");
}

std::string Digest::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(state_->context, digest, &length) != 1) {
    throw Error("internal: OpenSSL digest final failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string sha256_hex(const std::string& bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex_digest();
}

std::optional<std::string> sha256_file(const std::filesystem::path& file, const std::atomic<bool>* cancel) {
  Sha256 sha;
  if (!read_in_chunks(file, cancel, [&](const char* data, std::size_t size) { sha.update(data, size); })) {
    return std::nullopt;
  }
  return sha.hex_digest();
}

}  // namespace pawtrait
