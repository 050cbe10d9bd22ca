// libFuzzer target: any bytes as a photo, through Pawtrait's own entry point (the header's
// pixel count checked first, then OpenCV or libheif, EXIF orientation, colour conversion),
// give an RGB image of the size it says or throw pawtrait::Error. The photo's name decides
// which decoder is tried first, so each input is tried as a .jpg and as a .heic.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "imaging/photo.h"

namespace {

namespace fs = std::filesystem;

fs::path scratch(const char* extension) {
  static const fs::path folder = [] {
    const fs::path f = fs::temp_directory_path() / ("pawtrait-fuzz-photo-" + std::to_string(::getpid()));
    fs::create_directories(f);
    return f;
  }();
  return folder / (std::string("photo") + extension);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const char* extension : {".jpg", ".heic"}) {
    const fs::path file = scratch(extension);
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
      const auto image = pawtrait::imaging::load_photo(file);
      if (image.width <= 0 || image.height <= 0 ||
          image.rgb.size() != static_cast<std::size_t>(image.width * image.height * 3)) {
        std::abort();
      }
    } catch (const pawtrait::Error&) {
    }
  }
  return 0;
}
