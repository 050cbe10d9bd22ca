#include "imaging/png_text.h"

#include <zlib.h>

#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/inflate.h"
#include "imaging/image_size.h"

namespace pawtrait::imaging {
namespace {

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

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

std::string latin1_to_utf8(const std::string& latin1) {
  std::string out;
  for (unsigned char c : latin1) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// All of a picture's text together, once decompressed: Pawtrait's settings are a few
// kilobytes, other tools' workflows (ComfyUI's) a few hundred. Counted over every chunk, so
// that many small zTXt chunks cannot add up to a decompression bomb.
constexpr std::size_t kMaxTextTotal = std::size_t{16} << 20;
// A picture file larger than this is not one whose settings Pawtrait reads.
constexpr std::uintmax_t kMaxPngFile = std::uintmax_t{256} << 20;

Error too_much_text(const std::string& source) {
  return Error(source + ": its text chunks hold more than " + std::to_string(kMaxTextTotal >> 20) +
               " MiB once decompressed; a picture's settings are a few kilobytes, so this file carries something "
               "else (or is made to exhaust memory) and its settings are not read");
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

std::map<std::string, std::string> read_png_text(const std::vector<std::uint8_t>& png, const std::string& source) {
  if (png.size() < 8 || !std::equal(kSignature, kSignature + 8, png.begin()))
    throw Error(source + " is not a PNG file");
  std::map<std::string, std::string> text;
  std::size_t budget = kMaxTextTotal;  // decompressed bytes left
  const auto inflate_text = [&](const std::string& compressed) {
    std::string out;
    try {
      out = inflate_bytes(compressed, /*gzip=*/false, budget, source + ": a compressed text chunk");
    } catch (const InflateLimitExceeded&) {
      throw too_much_text(source);
    }
    budget -= out.size();
    return out;
  };
  const auto take = [&](std::string value) {
    if (value.size() > budget) throw too_much_text(source);
    budget -= value.size();
    return value;
  };
  std::size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const std::uint32_t length = get_u32(&png[pos]);
    if (length > png.size() - pos - 12) throw Error(source + ": a PNG chunk runs past the end of the file");
    const std::string type(reinterpret_cast<const char*>(&png[pos + 4]), 4);
    const std::string data(reinterpret_cast<const char*>(&png[pos + 8]), length);
    pos += 12 + length;
    if (type == "IEND") break;
    const std::size_t nul = data.find('\0');
    if (nul == std::string::npos) continue;
    const std::string keyword = data.substr(0, nul);
    if (type == "tEXt") {
      text[keyword] = latin1_to_utf8(take(data.substr(nul + 1)));
    } else if (type == "zTXt" && nul + 2 <= data.size()) {
      text[keyword] = latin1_to_utf8(inflate_text(data.substr(nul + 2)));
    } else if (type == "iTXt" && nul + 3 <= data.size()) {
      const bool compressed = data[nul + 1] != 0;
      const std::size_t language_end = data.find('\0', nul + 3);
      const std::size_t translated_end =
          language_end == std::string::npos ? std::string::npos : data.find('\0', language_end + 1);
      if (translated_end == std::string::npos) continue;
      const std::string value = data.substr(translated_end + 1);
      text[keyword] = compressed ? inflate_text(value) : take(value);
    }
  }
  return text;
}

std::map<std::string, std::string> read_png_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open " + file.string());
  std::error_code size_error;
  if (const auto size = std::filesystem::file_size(file, size_error); !size_error && size > kMaxPngFile) {
    throw Error(file.string() + " is " + std::to_string(size >> 20) + " MiB, larger than any picture with settings (" +
                std::to_string(kMaxPngFile >> 20) + " MiB at most); its settings are not read");
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return read_png_text(bytes, file.string());
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
