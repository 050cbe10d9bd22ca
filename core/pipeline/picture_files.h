#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "pipeline/generate_request.h"

namespace pawtrait::pipeline {

// The next free "NNNNN-" index in an output folder, so runs never overwrite each other.
int next_picture_index(const std::filesystem::path& folder);

// Writes one picture as <out>/NNNNN-<seed>.png at the next free index, with its generation
// parameters in PNG text chunks, atomically; returns its path.
std::filesystem::path write_picture(const std::filesystem::path& out, int& index, const std::vector<std::uint8_t>& rgb,
                                    std::int64_t width, std::int64_t height, const GenerateRequest& request);

}  // namespace pawtrait::pipeline
