#include "imaging/png_text.h"

#include <zlib.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "imaging/image_size.h"

namespace pawtrait::imaging {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

// length, type, data, CRC-32 of type and data.
std::string chunk(const std::string& type, const std::string& data) {
  std::string body = type + data;
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  out += body;
  put_u32(out, static_cast<std::uint32_t>(crc));
  return out;
}

// UTF-8 → Latin-1 when every character fits, for tEXt.
bool to_latin1(const std::string& utf8, std::string& latin1) {
  latin1.clear();
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      latin1 += static_cast<char>(c);
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      latin1 += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& rgb, std::int64_t width, std::int64_t height,
                                     const std::map<std::string, std::string>& text) {
  if (static_cast<std::int64_t>(rgb.size()) != width * height * 3)
    throw Error("internal: RGB buffer has the wrong size");
  cv::Mat image(static_cast<int>(height), static_cast<int>(width), CV_8UC3, const_cast<std::uint8_t*>(rgb.data()));
  cv::Mat bgr;
  cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> encoded;
  if (!cv::imencode(".png", bgr, encoded)) throw Error("could not encode the image as PNG");
  // Text chunks go right after IHDR (signature 8 bytes + IHDR 25 bytes).
  std::vector<std::uint8_t> out(encoded.begin(), encoded.begin() + 33);
  for (const auto& [keyword, value] : text) {
    std::string latin1;
    std::string c;
    if (to_latin1(value, latin1)) {
      c = chunk("tEXt", keyword + '\0' + latin1);
    } else {
      // keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, text.
      c = chunk("iTXt", keyword + std::string("\0\0\0\0\0", 5) + value);
    }
    out.insert(out.end(), c.begin(), c.end());
  }
  out.insert(out.end(), encoded.begin() + 33, encoded.end());
  return out;
}

void write_png(const std::filesystem::path& file, const std::vector<std::uint8_t>& rgb, std::int64_t width,
               std::int64_t height, const std::map<std::string, std::string>& text) {
  const std::vector<std::uint8_t> png = encode_png(rgb, width, height, text);
  AtomicFile out(file);
  out.write(png.data(), png.size());
  out.commit();
}

std::vector<std::uint8_t> decode_rgb(const std::filesystem::path& file, std::int64_t& width, std::int64_t& height) {
  if (const auto size = read_image_size(file)) check_photo_pixels(file, *size);
  cv::Mat bgr = cv::imread(file.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error("cannot read " + file.string() + " as an image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  width = rgb.cols;
  height = rgb.rows;
  return std::vector<std::uint8_t>(rgb.data, rgb.data + rgb.total() * 3);
}

}  // namespace pawtrait::imaging
