#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

namespace pawtrait {

// The id git gives a file's content: the SHA-1 of "blob <size>\0" followed by the bytes,
// lowercase hex. The Hugging Face hub lists it (blobId) and sends it as the ETag of every
// file not stored in LFS, so those files can be checked as LFS files are by their SHA-256.
std::string git_blob_id(const std::string& bytes);
// Throws pawtrait::Error naming the file when it can't be read; nothing when `cancel` is
// raised part way.
std::optional<std::string> git_blob_id_of_file(const std::filesystem::path& file,
                                               const std::atomic<bool>* cancel = nullptr);

}  // namespace pawtrait
