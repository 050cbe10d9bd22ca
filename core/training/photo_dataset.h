#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "imaging/photo.h"

namespace pawtrait::training {

struct PhotoSelection {
  std::vector<std::filesystem::path> usable;
  std::vector<std::string> skipped;  // "<file>: <reason>"
};

// Finds the photos among files and folders, checks each (readable, large enough for
// `resolution`, not a duplicate) and logs why any is skipped. Throws pawtrait::Error when
// none is usable.
PhotoSelection select_photos(const std::vector<std::filesystem::path>& files_or_folders, std::int64_t resolution,
                             const LogSink& log);

// The photos' squares at `size` × `size`, as one (n, 3, size, size) float tensor in [-1, 1].
at::Tensor photos_to_tensor(const std::vector<std::filesystem::path>& files, std::int64_t size,
                            const imaging::PhotoCrops& crops = {});

}  // namespace pawtrait::training
