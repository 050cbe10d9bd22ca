// Reading a PNG's text chunks, apart from the encoding and decoding: free of OpenCV and
// torch, so that it can be fuzzed alone.
#include "imaging/png_text.h"

#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/inflate.h"

namespace pawtrait::imaging {
namespace {

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
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

}  // namespace pawtrait::imaging
