#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.h"

namespace pawtrait {

// Thrown by inflate_bytes when the data decompresses past its limit.
class InflateLimitExceeded : public Error {
 public:
  using Error::Error;
};

// Decompresses zlib data (PNG's zTXt/iTXt chunks) or, with `gzip`, a gzip file, to at most
// `limit` bytes. Throws pawtrait::Error "<what> is damaged" for data zlib refuses, and
// InflateLimitExceeded "<what> decompresses to more than <limit> bytes" past the limit (a
// decompression bomb).
std::string inflate_bytes(std::string_view compressed, bool gzip, std::size_t limit, const std::string& what);

}  // namespace pawtrait
