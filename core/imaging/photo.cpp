#include "imaging/photo.h"

#include <libheif/heif.h>

#include <algorithm>
#include <bit>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "imaging/image_size.h"
#include "imaging/subject_box.h"

namespace pawtrait::imaging {
namespace {

namespace fs = std::filesystem;

std::string lower_extension(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

RgbImage from_rgb_mat(const cv::Mat& rgb) {
  RgbImage out;
  out.width = rgb.cols;
  out.height = rgb.rows;
  const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
  out.rgb.assign(continuous.data, continuous.data + continuous.total() * 3);
  return out;
}

RgbImage load_heif(const fs::path& file) {
  heif_context* context = heif_context_alloc();
  auto fail = [&](const std::string& why) {
    heif_context_free(context);
    return Error("cannot read " + file.string() + " as HEIC/HEIF: " + why);
  };
  heif_error error = heif_context_read_from_file(context, file.c_str(), nullptr);
  if (error.code != heif_error_Ok) throw fail(error.message);
  heif_image_handle* handle = nullptr;
  error = heif_context_get_primary_image_handle(context, &handle);
  if (error.code != heif_error_Ok) throw fail(error.message);
  try {
    check_photo_pixels(file, {heif_image_handle_get_width(handle), heif_image_handle_get_height(handle)});
  } catch (const Error&) {
    heif_image_handle_release(handle);
    heif_context_free(context);
    throw;
  }
  heif_image* image = nullptr;
  // Decoding applies the file's rotation and mirroring, as EXIF orientation is for JPEG.
  error = heif_decode_image(handle, &image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, nullptr);
  if (error.code != heif_error_Ok) {
    heif_image_handle_release(handle);
    throw fail(error.message);
  }
  const int width = heif_image_get_width(image, heif_channel_interleaved);
  const int height = heif_image_get_height(image, heif_channel_interleaved);
  int stride = 0;
  const std::uint8_t* data = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
  RgbImage out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<std::size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) std::copy_n(data + y * stride, width * 3, out.rgb.data() + y * width * 3);
  heif_image_release(image);
  heif_image_handle_release(handle);
  heif_context_free(context);
  return out;
}

// The box, checked against the photo (default: the whole photo).
CropBox checked_box(const RgbImage& image, const std::optional<CropBox>& box) {
  if (!box) return {0, 0, image.width, image.height};
  const CropBox b = *box;
  if (b.width <= 0 || b.height <= 0 || b.x < 0 || b.y < 0 || b.x + b.width > image.width ||
      b.y + b.height > image.height) {
    throw Error("the crop box (" + std::to_string(b.x) + ", " + std::to_string(b.y) + ", " + std::to_string(b.width) +
                "x" + std::to_string(b.height) + ") does not fit inside the " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " photo; choose the crop again in the photo editor");
  }
  return b;
}

cv::Mat mat_of(const RgbImage& image) {
  return {static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC3,
          const_cast<std::uint8_t*>(image.rgb.data())};
}

}  // namespace

RgbImage load_photo(const fs::path& file) {
  if (!fs::exists(file)) throw Error(file.string() + ": no such file");
  const std::string ext = lower_extension(file);
  if (ext == ".heic" || ext == ".heif") return load_heif(file);
  if (const auto size = read_image_size(file)) check_photo_pixels(file, *size);
  const auto unreadable = [&] {
    return Error("cannot read " + file.string() + " as a picture (damaged, or not an image)");
  };
  // IMREAD_COLOR turns the picture upright by its EXIF orientation and converts grayscale,
  // palette and CMYK to 8-bit colour, but drops alpha and 16 bits; pictures with either
  // (PNG, TIFF — which rarely carry an orientation) are read unchanged and converted here.
  cv::Mat image;
  if (ext != ".jpg" && ext != ".jpeg") {
    image = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
    if (image.empty()) throw unreadable();
    if (image.channels() != 4 && image.depth() == CV_8U) image.release();
  }
  if (image.empty()) {
    image = cv::imread(file.string(), cv::IMREAD_COLOR);
    if (image.empty()) throw unreadable();
  }
  if (image.depth() == CV_16U) {
    image.convertTo(image, CV_8U, 1.0 / 257.0);
  } else if (image.depth() != CV_8U) {
    cv::normalize(image, image, 0, 255, cv::NORM_MINMAX, CV_8U);
  }
  cv::Mat rgb;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4: {
      // Transparent parts become white: a pet cut out of its background stays on a plain one.
      std::vector<cv::Mat> bgra;
      cv::split(image, bgra);
      cv::Mat alpha;
      bgra[3].convertTo(alpha, CV_32F, 1.0 / 255.0);
      std::vector<cv::Mat> blended(3);
      for (int c = 0; c < 3; ++c) {
        cv::Mat channel;
        bgra[c].convertTo(channel, CV_32F);
        cv::Mat mixed = channel.mul(alpha) + (1.0 - alpha) * 255.0;
        mixed.convertTo(blended[2 - c], CV_8U);  // BGR → RGB on the way
      }
      cv::merge(blended, rgb);
      break;
    }
    default:
      throw Error("cannot read " + file.string() + ": " + std::to_string(image.channels()) + " colour channels");
  }
  return from_rgb_mat(rgb);
}

RgbImage turned(const RgbImage& image, int quarter_turns) {
  const int turns = ((quarter_turns % 4) + 4) % 4;
  if (turns == 0) return image;
  cv::Mat out;
  cv::rotate(mat_of(image), out,
             turns == 1   ? cv::ROTATE_90_CLOCKWISE
             : turns == 2 ? cv::ROTATE_180
                          : cv::ROTATE_90_COUNTERCLOCKWISE);
  return from_rgb_mat(out);
}

RgbImage load_edited_photo(const std::filesystem::path& file, const PhotoEdit& edit) {
  return turned(load_photo(file), edit.quarter_turns);
}

RgbImage square_crop(const RgbImage& image, std::int64_t resolution, const std::optional<CropBox>& box) {
  const CropBox b = centred_square(checked_box(image, box));
  cv::Mat cropped = mat_of(image)(
      cv::Rect(static_cast<int>(b.x), static_cast<int>(b.y), static_cast<int>(b.width), static_cast<int>(b.height)));
  cv::Mat resized;
  const int r = static_cast<int>(resolution);
  cv::resize(cropped, resized, cv::Size(r, r), 0, 0, b.width >= resolution ? cv::INTER_AREA : cv::INTER_CUBIC);
  return from_rgb_mat(resized);
}

RgbImage bucket_image(const RgbImage& image, const BucketCrop& crop, const std::optional<CropBox>& box) {
  const CropBox b = checked_box(image, box);
  const cv::Mat region = mat_of(image)(
      cv::Rect(static_cast<int>(b.x), static_cast<int>(b.y), static_cast<int>(b.width), static_cast<int>(b.height)));
  if (crop.left < 0 || crop.top < 0 || crop.left + crop.bucket.width > crop.resized_width ||
      crop.top + crop.bucket.height > crop.resized_height) {
    throw Error("the " + std::to_string(crop.bucket.width) + "×" + std::to_string(crop.bucket.height) +
                " bucket does not fit inside the photo resized to " + std::to_string(crop.resized_width) + "×" +
                std::to_string(crop.resized_height));
  }
  const bool shrinking = crop.resized_width <= region.cols;
  cv::Mat resized;
  cv::resize(region, resized, cv::Size(static_cast<int>(crop.resized_width), static_cast<int>(crop.resized_height)), 0,
             0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
  return from_rgb_mat(resized(cv::Rect(static_cast<int>(crop.left), static_cast<int>(crop.top),
                                       static_cast<int>(crop.bucket.width), static_cast<int>(crop.bucket.height))));
}

std::uint64_t difference_hash(const RgbImage& image) {
  cv::Mat src(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC3,
              const_cast<std::uint8_t*>(image.rgb.data()));
  cv::Mat gray, small;
  cv::cvtColor(src, gray, cv::COLOR_RGB2GRAY);
  cv::resize(gray, small, cv::Size(9, 8), 0, 0, cv::INTER_AREA);
  std::uint64_t hash = 0;
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) hash = (hash << 1) | (small.at<std::uint8_t>(y, x) < small.at<std::uint8_t>(y, x + 1));
  }
  return hash;
}

double sharpness(const RgbImage& image) {
  cv::Mat src(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC3,
              const_cast<std::uint8_t*>(image.rgb.data()));
  cv::Mat gray, scaled, laplacian;
  cv::cvtColor(src, gray, cv::COLOR_RGB2GRAY);
  const double scale = 256.0 / static_cast<double>(std::min(image.width, image.height));
  cv::resize(gray, scaled, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Laplacian(scaled, laplacian, CV_64F);
  cv::Scalar mean, deviation;
  cv::meanStdDev(laplacian, mean, deviation);
  return deviation[0] * deviation[0];
}

std::vector<PhotoCheck> check_photos(const std::vector<fs::path>& files, std::int64_t resolution) {
  std::vector<PhotoCheck> checks;
  std::vector<std::pair<std::uint64_t, fs::path>> seen;
  for (const auto& file : files) {
    PhotoCheck c;
    c.path = file;
    try {
      const RgbImage image = load_photo(file);
      c.width = image.width;
      c.height = image.height;
      const std::uint64_t hash = difference_hash(image);
      const auto dup =
          std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return std::popcount(s.first ^ hash) <= 6; });
      if (std::min(image.width, image.height) * 2 < resolution) {
        c.verdict = PhotoVerdict::TooSmall;
        c.reason = "too small: " + std::to_string(image.width) + "x" + std::to_string(image.height) + ", training at " +
                   std::to_string(resolution) + " needs a shorter side of at least " +
                   std::to_string((resolution + 1) / 2) + " pixels";
      } else if (dup != seen.end()) {
        c.verdict = PhotoVerdict::Duplicate;
        c.reason = "the same picture as " + dup->second.filename().string();
      } else {
        std::vector<std::string> warnings;
        if (const double s = sharpness(image); s < kBlurredBelow) {
          warnings.push_back("looks blurred (sharpness " + std::to_string(static_cast<int>(s)) +
                             "; sharp photos score over " + std::to_string(static_cast<int>(kBlurredBelow)) +
                             "): the model learns the blur too; use a sharper photo of your pet if you have one");
        }
        const auto near = std::find_if(seen.begin(), seen.end(), [&](const auto& s) {
          return std::popcount(s.first ^ hash) <= kNearIdenticalBits;
        });
        if (near != seen.end()) {
          warnings.push_back("looks almost the same as " + near->second.filename().string() +
                             " (the same pose and place): photos from other angles, places and days teach the model "
                             "more than several of one moment; keep the better one, or add different ones");
        }
        const CropBox box = suggest_subject_box(image);
        const double share =
            static_cast<double>(box.width * box.height) / static_cast<double>(image.width * image.height);
        if (share < kSmallSubjectBelow) {
          warnings.push_back("shows your pet small (the box around it is " + std::to_string(std::lround(100 * share)) +
                             "% of the photo): the model learns the floor as much as the pet; crop the photo to your "
                             "pet (in the app, double-click it)");
        }
        for (const std::string& w : warnings) c.warning += (c.warning.empty() ? "" : "; it also ") + w;
        seen.emplace_back(hash, file);
      }
    } catch (const Error& e) {
      c.verdict = PhotoVerdict::Unreadable;
      c.reason = e.what();
    }
    checks.push_back(std::move(c));
  }
  return checks;
}

std::vector<fs::path> find_photos(const std::vector<fs::path>& files_or_folders) {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".png",  ".webp", ".bmp",
                                                      ".tif", ".tiff", ".heic", ".heif"};
  std::vector<fs::path> photos;
  for (const auto& item : files_or_folders) {
    if (fs::is_directory(item)) {
      std::vector<fs::path> in_folder;
      for (const auto& entry : fs::directory_iterator(item)) {
        // A photo's mask ("dog1-masklabel.png", photo_mask.h) sits beside it and is not a photo.
        const std::string stem = entry.path().stem().string();
        const bool mask = stem.size() > 10 && stem.ends_with("-masklabel");
        if (entry.is_regular_file() && !mask &&
            std::find(extensions.begin(), extensions.end(), lower_extension(entry.path())) != extensions.end()) {
          in_folder.push_back(entry.path());
        }
      }
      std::sort(in_folder.begin(), in_folder.end());
      photos.insert(photos.end(), in_folder.begin(), in_folder.end());
    } else {
      photos.push_back(item);
    }
  }
  return photos;
}

}  // namespace pawtrait::imaging
