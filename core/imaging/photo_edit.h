#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>

namespace pawtrait::imaging {

// A region in pixels of the upright (and turned) photo.
struct CropBox {
  std::int64_t x = 0, y = 0, width = 0, height = 0;
  bool operator==(const CropBox&) const = default;
};

// The largest square centred in the box (a square crop from a box of another shape).
CropBox centred_square(const CropBox& box);

// What the person chose for one photo in the crop editor: quarter turns clockwise (for a photo
// whose camera did not record which way was up), then the region to train on, in the turned
// photo's pixels; without a box, the whole photo (its bucket) or its centre square.
struct PhotoEdit {
  int quarter_turns = 0;  // 0 to 3
  std::optional<CropBox> box;
  bool operator==(const PhotoEdit&) const = default;
};

// The edits by photo file; a photo without one is used as it is.
using PhotoEdits = std::map<std::filesystem::path, PhotoEdit>;

}  // namespace pawtrait::imaging
