#include "imaging/photo_mask.h"

#include <algorithm>

#include "common/error.h"
#include "imaging/subject_box.h"

namespace pawtrait::imaging {

namespace fs = std::filesystem;

fs::path mask_sidecar_path(const fs::path& photo) {
  return photo.parent_path() / (photo.stem().string() + "-masklabel.png");
}

RgbImage subject_mask(const fs::path& photo, const RgbImage& edited, int quarter_turns) {
  const fs::path sidecar = mask_sidecar_path(photo);
  std::error_code error;
  if (fs::is_regular_file(sidecar, error)) {
    RgbImage mask = turned(load_photo(sidecar), quarter_turns);
    if (mask.width != edited.width || mask.height != edited.height) {
      throw Error(sidecar.string() + " is " + std::to_string(mask.width) + "x" + std::to_string(mask.height) +
                  " but its photo is " + std::to_string(edited.width) + "x" + std::to_string(edited.height) +
                  " (as turned); a mask must be the photo's own size");
    }
    return mask;
  }
  const CropBox box = suggest_subject_box(edited);
  RgbImage mask{edited.width, edited.height, std::vector<std::uint8_t>(edited.rgb.size(), 0)};
  for (std::int64_t y = box.y; y < box.y + box.height; ++y) {
    std::fill_n(mask.rgb.begin() + (y * mask.width + box.x) * 3, box.width * 3, std::uint8_t{255});
  }
  return mask;
}

}  // namespace pawtrait::imaging
