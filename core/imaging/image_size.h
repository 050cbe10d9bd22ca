#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>

namespace pawtrait::imaging {

struct ImageSize {
  std::int64_t width = 0, height = 0;
};

// A picture's size read from its header alone, before anything is decoded: PNG, JPEG, WebP,
// GIF and BMP; nothing for other formats or a header that does not say (the decoder's own
// checks then apply).
std::optional<ImageSize> read_image_size(const std::filesystem::path& file);
std::optional<ImageSize> read_image_size(std::istream& in);

// The most pixels a photo may have: a 200-megapixel phone photo fits; a file claiming more
// is refused before it is decoded (it could ask for gigabytes).
constexpr std::int64_t kMaxPhotoPixels = std::int64_t{256} << 20;

// Throws pawtrait::Error naming the file when `size` is over kMaxPhotoPixels (an empty size
// is left to the decoder to refuse).
void check_photo_pixels(const std::filesystem::path& file, const ImageSize& size);

}  // namespace pawtrait::imaging
