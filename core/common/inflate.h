#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pawtrait {

// Decompresses zlib data (PNG's zTXt/iTXt chunks) or, with `gzip`, a gzip file, to at most
// `limit` bytes. Throws pawtrait::Error "<what> is damaged" for data zlib refuses, and
// "<what> decompresses to more than <limit> bytes" past the limit (a decompression bomb).
std::string inflate_bytes(std::string_view compressed, bool gzip, std::size_t limit, const std::string& what);

}  // namespace pawtrait
