// libFuzzer target: any bytes as a picture's header (PNG, JPEG with its marker walk, GIF, BMP,
// WebP's three kinds). Reading a size must neither crash nor run away (the JPEG walk is
// bounded), and what it reports for a file of these formats is what the pixel check
// judges: a size it returns is never negative.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "imaging/image_size.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  const auto found = pawtrait::imaging::read_image_size(in);
  if (found && (found->width < 0 || found->height < 0)) std::abort();
  return 0;
}
