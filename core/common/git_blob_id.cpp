#include "common/git_blob_id.h"

#include "common/error.h"
#include "common/file_chunks.h"
#include "common/sha256.h"

namespace pawtrait {
namespace {

std::string object_header(std::uintmax_t size) { return "blob " + std::to_string(size) + std::string(1, '\0'); }

}  // namespace

std::string git_blob_id(const std::string& bytes) {
  Digest sha(Digest::Algorithm::sha1);
  const std::string header = object_header(bytes.size());
  sha.update(header.data(), header.size());
  sha.update(bytes.data(), bytes.size());
  return sha.hex_digest();
}

std::optional<std::string> git_blob_id_of_file(const std::filesystem::path& file, const std::atomic<bool>* cancel) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  if (error) throw Error("can't read " + file.string() + ": " + error.message());
  Digest sha(Digest::Algorithm::sha1);
  const std::string header = object_header(size);
  sha.update(header.data(), header.size());
  if (!read_in_chunks(file, cancel, [&](const char* data, std::size_t n) { sha.update(data, n); })) return std::nullopt;
  return sha.hex_digest();
}

}  // namespace pawtrait
