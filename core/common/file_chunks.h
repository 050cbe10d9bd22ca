#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>

namespace pawtrait {

// Hands `file` to `take` a MiB at a time, for digests of files of any size. Returns false
// when `cancel` is raised part way; throws pawtrait::Error naming the file when it can't be
// read.
bool read_in_chunks(const std::filesystem::path& file, const std::atomic<bool>* cancel,
                    const std::function<void(const char* data, std::size_t size)>& take);

}  // namespace pawtrait
