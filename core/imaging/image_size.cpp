#include "imaging/image_size.h"

#include <array>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace pawtrait::imaging {
namespace {

// The first bytes of the file, as many as it has up to `n`.
std::vector<std::uint8_t> head(std::istream& in, std::size_t n) {
  std::vector<std::uint8_t> bytes(n);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le16(const std::uint8_t* p) { return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8); }
std::uint32_t le24(const std::uint8_t* p) { return le16(p) | (std::uint32_t{p[2]} << 16); }
std::uint32_t le32(const std::uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

bool starts_with(const std::vector<std::uint8_t>& bytes, const char* magic, std::size_t at = 0) {
  const std::size_t n = std::strlen(magic);
  return bytes.size() >= at + n && std::memcmp(bytes.data() + at, magic, n) == 0;
}

// JPEG: the first start-of-frame marker's height and width, walking the marker segments
// (EXIF and its thumbnail come first, so this reads on past them).
std::optional<ImageSize> jpeg_size(std::istream& in) {
  in.seekg(2);
  std::array<std::uint8_t, 9> m{};
  for (int segments = 0; segments < 4096; ++segments) {
    if (!in.read(reinterpret_cast<char*>(m.data()), 2)) return std::nullopt;
    if (m[0] != 0xFF) return std::nullopt;
    const std::uint8_t marker = m[1];
    if (marker == 0xFF) {  // fill byte
      in.seekg(-1, std::ios::cur);
      continue;
    }
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // the image data before any frame header
    if (!in.read(reinterpret_cast<char*>(m.data()), 2)) return std::nullopt;
    const std::uint32_t length = be16(m.data());
    if (length < 2) return std::nullopt;
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (length < 7 || !in.read(reinterpret_cast<char*>(m.data()), 5)) return std::nullopt;
      return ImageSize{be16(m.data() + 3), be16(m.data() + 1)};
    }
    in.seekg(length - 2, std::ios::cur);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageSize> read_image_size(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return read_image_size(in);
}

std::optional<ImageSize> read_image_size(std::istream& in) {
  const std::vector<std::uint8_t> b = head(in, 32);
  in.clear();
  if (starts_with(b, "\x89PNG\r\n\x1a\n") && b.size() >= 24 && starts_with(b, "IHDR", 12)) {
    return ImageSize{be32(&b[16]), be32(&b[20])};
  }
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return jpeg_size(in);
  if ((starts_with(b, "GIF87a") || starts_with(b, "GIF89a")) && b.size() >= 10) {
    return ImageSize{le16(&b[6]), le16(&b[8])};
  }
  if (starts_with(b, "BM") && b.size() >= 26) {
    if (le32(&b[14]) == 12) return ImageSize{le16(&b[18]), le16(&b[20])};  // OS/2 1.x header
    const auto height = static_cast<std::int32_t>(le32(&b[22]));           // negative: top-down rows
    const auto width = static_cast<std::int32_t>(le32(&b[18]));            // negative: damaged, said as 0
    return ImageSize{width < 0 ? 0 : width, height < 0 ? -std::int64_t{height} : height};
  }
  if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8) && b.size() >= 30) {
    if (starts_with(b, "VP8X", 12)) return ImageSize{le24(&b[24]) + 1, le24(&b[27]) + 1};
    if (starts_with(b, "VP8L", 12) && b[20] == 0x2F) {
      const std::uint32_t bits = le32(&b[21]);
      return ImageSize{(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
    }
    if (starts_with(b, "VP8 ", 12)) return ImageSize{le16(&b[26]) & 0x3FFF, le16(&b[28]) & 0x3FFF};
  }
  return std::nullopt;
}

void check_photo_pixels(const std::filesystem::path& file, const ImageSize& size) {
  if (size.width <= 0 || size.height <= 0) return;  // an empty or damaged header: the decoder says which
  if (size.width > kMaxPhotoPixels / size.height) {
    throw Error(file.string() + " is " + std::to_string(size.width) + "x" + std::to_string(size.height) + " (" +
                // In floating point: a damaged header's sides multiply past 64 bits.
                std::to_string(
                    static_cast<long long>(static_cast<double>(size.width) * static_cast<double>(size.height) / 1e6)) +
                " megapixels); Pawtrait reads photos of up to " + std::to_string(kMaxPhotoPixels / 1'000'000) +
                " megapixels: scale it down and add it again");
  }
}

}  // namespace pawtrait::imaging
