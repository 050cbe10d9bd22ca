#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "imaging/aspect_buckets.h"
#include "imaging/photo_edit.h"

namespace pawtrait::imaging {

// 8-bit RGB pixels, row-major, 3 bytes a pixel.
struct RgbImage {
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::vector<std::uint8_t> rgb;
};

// Decodes a photo as people have them: JPEG, PNG, WebP, BMP, TIFF (OpenCV) and HEIC/HEIF
// (libheif, iPhone photos), turned upright by its EXIF orientation; 16-bit, grayscale,
// palette and CMYK become 8-bit RGB, and transparency is composited on white. Throws
// pawtrait::Error naming the file when it cannot be read.
RgbImage load_photo(const std::filesystem::path& file);

// The photo turned clockwise by `quarter_turns` quarters (any integer; 4 is a whole turn).
RgbImage turned(const RgbImage& image, int quarter_turns);

// The photo as the person edited it: loaded upright and turned (the box is applied by the
// crop that follows). Throws as load_photo does.
RgbImage load_edited_photo(const std::filesystem::path& file, const PhotoEdit& edit);

// The box's centred square (default: the photo's centred largest square) resized to
// resolution² with area interpolation, which averages instead of aliasing when shrinking.
RgbImage square_crop(const RgbImage& image, std::int64_t resolution, const std::optional<CropBox>& box = std::nullopt);

// The region (default: the whole photo) as its bucket: resized to crop.resized_width ×
// crop.resized_height (area interpolation when shrinking, cubic when enlarging, as square_crop
// does), then cut at (crop.left, crop.top) to the bucket's size.
RgbImage bucket_image(const RgbImage& image, const BucketCrop& crop, const std::optional<CropBox>& box = std::nullopt);

// A 64-bit difference hash (Krawetz's dHash: brightness gradients of a 9×8 thumbnail): near-
// identical pictures, resized or re-encoded, differ in a few bits.
std::uint64_t difference_hash(const RgbImage& image);

// How sharp a photo is: the variance of the Laplacian (Pech-Pacheco et al. 2000) of its grey
// image scaled so that its shorter side is 256 pixels (the same photo scores the same at any
// size). Edges in focus score in the hundreds; a blurred or shaken photo in the tens.
double sharpness(const RgbImage& image);

// Below this a photo is called blurred. Measured on scikit-image's sample photos: sharp ones
// score 149 (the moon, soft by nature) to 6252 (grass), the demo cat 222; a photo shaken while
// taken (clock_motion) 12; Gaussian blurs of σ = 2 px at 512 px, 6 to 197.
inline constexpr double kBlurredBelow = 60.0;

// Two photos whose difference hashes differ by more than a duplicate's 6 bits but at most this
// look like one moment taken twice. Measured on chelsea.png against itself moved: shifted by 4 %
// of its width 7 bits, 6 % 13; zoomed 3 % 6, 6 % 13; turned 2° 8, 4° 11, 8° 14; against other
// sample photos 30 to 35, and a stereo pair (the same scene from two viewpoints) 17.
inline constexpr int kNearIdenticalBits = 12;

// A photo whose suggested subject box covers less of it than this shows the pet small. The box
// is padded by 15 % on each side, so 10 % is a pet about 6 % of the photo: in the subject box's
// composites, an animal a quarter of the photo's width (its box 8 %) is below it, one at 45 %
// (19 %) above.
inline constexpr double kSmallSubjectBelow = 0.10;

enum class PhotoVerdict { Ok, TooSmall, Unreadable, Duplicate };

struct PhotoCheck {
  std::filesystem::path path;
  PhotoVerdict verdict = PhotoVerdict::Ok;
  std::string reason;  // for people: why it is skipped
  // For a photo that is used: what may make it teach the model less well, and what to do;
  // empty when nothing does.
  std::string warning;
  std::int64_t width = 0, height = 0;
};

// Checks each photo for training at `resolution`: unreadable, too small (shorter side under
// half the resolution), or a duplicate of an earlier one (hash within 6 bits); a usable photo
// is used with a warning when it looks blurred, almost the same as an earlier one
// (kNearIdenticalBits), or shows the pet small (kSmallSubjectBelow).
std::vector<PhotoCheck> check_photos(const std::vector<std::filesystem::path>& files, std::int64_t resolution);

// The photo files in a folder (by extension; not the masks beside them, "*-masklabel.png"),
// sorted, or the files given.
std::vector<std::filesystem::path> find_photos(const std::vector<std::filesystem::path>& files_or_folders);

}  // namespace pawtrait::imaging
