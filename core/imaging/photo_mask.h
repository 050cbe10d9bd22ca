#pragma once

#include <filesystem>

#include "imaging/photo.h"

namespace pawtrait::imaging {

// Where the pet is in a photo, for a masked loss: white (255) on the pet, black elsewhere, grey
// in between; the same size as the photo it belongs to, upright.

// The photo's mask sidecar, "<name>-masklabel.png" beside it (dog1.jpg → dog1-masklabel.png), as
// OneTrainer writes them.
std::filesystem::path mask_sidecar_path(const std::filesystem::path& photo);

// The mask of `photo` as edited (`edited` is the photo loaded and turned by `quarter_turns`): its
// sidecar turned the same way, or else the suggested subject box (suggest_subject_box) filled
// white. Throws pawtrait::Error when the sidecar cannot be read or is not the photo's size.
RgbImage subject_mask(const std::filesystem::path& photo, const RgbImage& edited, int quarter_turns);

}  // namespace pawtrait::imaging
