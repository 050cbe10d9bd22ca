#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace pawtrait::models {

// What a shared picture says of a model, a VAE or a LoRA instead of where it lies: its name
// and a short hash, so that the picture finds it again on another disk without telling
// anyone the owner's folders.

// The file's name, or the folder's ("stable-diffusion-v1-5--stable-diffusion-v1-5").
std::string shared_name(const std::filesystem::path& model);

// The first 10 hex digits of a SHA-256. For a file, of the whole file: A1111's "AutoV2"
// hash, the one Civitai lists, so a checkpoint or LoRA can be looked up there. For a folder,
// of its files' relative paths, sizes and sampled contents (all of a file up to 2 MiB, else
// its first and last MiB): reading a 16 GB folder whole for a label would take a minute, and
// a fine-tune changes every tensor, so the samples tell two versions apart. Hidden entries
// and unfinished temporaries are left out (the folder's completion marker among them).
//
// Remembered in `cache` (by path, size and modification time), so a file is read once.
// `on_slow` hears before a file of over 256 MiB is read whole. Throws pawtrait::Error naming
// the path when it cannot be read.
std::string short_hash(const std::filesystem::path& model, const std::filesystem::path& cache = {},
                       const std::function<void(const std::string&)>& on_slow = {});

// cache_folder() / "hashes.json".
std::filesystem::path default_hash_cache();

}  // namespace pawtrait::models
