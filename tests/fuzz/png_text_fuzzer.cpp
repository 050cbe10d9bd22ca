// libFuzzer target: any bytes as a PNG whose text chunks are read (tEXt, zTXt, iTXt; zlib
// inflation under one budget for all chunks together). It must either give the text or throw
// pawtrait::Error, never crash, hang or allocate past the budget (libFuzzer's -rss_limit_mb
// catches a decompression bomb that slipped through).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "imaging/png_text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    pawtrait::imaging::read_png_text(std::vector<std::uint8_t>(data, data + size), "fuzz.png");
  } catch (const pawtrait::Error&) {
  }
  return 0;
}
