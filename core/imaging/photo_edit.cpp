#include "imaging/photo_edit.h"

#include <algorithm>

namespace pawtrait::imaging {

CropBox centred_square(const CropBox& box) {
  const std::int64_t side = std::min(box.width, box.height);
  return {box.x + (box.width - side) / 2, box.y + (box.height - side) / 2, side, side};
}

}  // namespace pawtrait::imaging
