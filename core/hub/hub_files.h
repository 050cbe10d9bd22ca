#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pawtrait::hub {

// One file of a repository at a revision, as the hub's API lists it.
struct RepoFile {
  std::string path;                    // "unet/diffusion_pytorch_model.safetensors"
  std::optional<std::uint64_t> size;   // bytes, when the listing has it (?blobs=true)
  std::optional<std::string> sha256;   // LFS files only: the content's SHA-256, lowercase hex
  std::optional<std::string> blob_id;  // other files: their git blob id (common/git_blob_id.h)
};

struct RepoListing {
  std::string repo_id;
  std::string commit;  // the revision resolved to a commit sha ("sha" in the API answer)
  std::vector<RepoFile> files;
};

// Parses the answer of GET /api/models/{repo}/revision/{revision}?blobs=true:
// {"id": ..., "sha": ..., "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size"}}]}
// (an LFS file's blobId is its pointer's, so only a file without "lfs" keeps it).
// Paths that could escape the model folder ("..", absolute) are refused. Throws
// pawtrait::Error on a malformed answer.
RepoListing parse_repo_listing(const std::string& json_text, const std::string& repo_id);

// The diffusers components Pawtrait's engine loads; safety_checker, feature_extractor and
// the root-level single-file checkpoints that many repos also carry are not downloaded.
const std::vector<std::string>& model_components();

// What a diffusers folder needs, in download order (small files first): model_index.json,
// each component's config, the scheduler config, the tokenizer files and the .safetensors
// weights. With a variant ("fp16"), a component's "<name>.fp16.safetensors" replaces its
// plain weights when the repo has it; a component without it keeps the plain file. Pickle
// formats (.bin, .ckpt, .pt, .pth) and other frameworks' files are never chosen.
std::vector<RepoFile> select_model_files(const RepoListing& listing, const std::string& variant);

// "org/name" with the hub's characters ([A-Za-z0-9._-]); throws pawtrait::Error otherwise.
void validate_repo_id(const std::string& repo_id);

// True for `digits` lowercase hex digits: 64 for a SHA-256, 40 for a git blob id.
bool is_hex_digest(const std::string& text, std::size_t digits);

// True for a relative path without "..", "." or empty segments.
bool is_safe_relative_path(const std::string& path);

}  // namespace pawtrait::hub
