#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pawtrait::imaging {

// PNG text chunks: what other Stable Diffusion tools read ("parameters") and Pawtrait's own
// JSON ("pawtrait"). Latin-1 text goes in tEXt, anything else in uncompressed iTXt (UTF-8),
// as PIL does, so A1111-style readers find either.

// Encodes 8-bit RGB (row-major, 3 bytes a pixel) as PNG with the given text chunks after IHDR.
std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& rgb, std::int64_t width, std::int64_t height,
                                     const std::map<std::string, std::string>& text);

// encode_png, written atomically to `file` (never a half-written picture).
void write_png(const std::filesystem::path& file, const std::vector<std::uint8_t>& rgb, std::int64_t width,
               std::int64_t height, const std::map<std::string, std::string>& text = {});

// The tEXt, iTXt and zTXt chunks of a PNG file's bytes, keyword → UTF-8 text. Throws
// pawtrait::Error (naming `source`) for bytes that are not a well-formed PNG.
std::map<std::string, std::string> read_png_text(const std::vector<std::uint8_t>& png, const std::string& source);
std::map<std::string, std::string> read_png_text(const std::filesystem::path& file);

// Decodes a PNG (or any format OpenCV reads) to 8-bit RGB. Throws pawtrait::Error.
std::vector<std::uint8_t> decode_rgb(const std::filesystem::path& file, std::int64_t& width, std::int64_t& height);

}  // namespace pawtrait::imaging
