#include "common/inflate.h"

#include <zlib.h>

#include "common/error.h"

namespace pawtrait {

std::string inflate_bytes(std::string_view compressed, bool gzip, std::size_t limit, const std::string& what) {
  z_stream stream{};
  // 16 + MAX_WBITS: a gzip header instead of zlib's.
  if (inflateInit2(&stream, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
    throw Error(what + " cannot be decompressed (zlib failed to start)");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buffer[1 << 15];
  int status = Z_OK;
  bool too_large = false;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > limit) {
      too_large = true;
      break;
    }
  }
  inflateEnd(&stream);
  if (too_large) throw InflateLimitExceeded(what + " decompresses to more than " + std::to_string(limit) + " bytes");
  if (status != Z_STREAM_END) throw Error(what + " is damaged");
  return out;
}

}  // namespace pawtrait
