#include "pipeline/picture_files.h"

#include <cstdio>
#include <regex>
#include <string>

#include "imaging/png_text.h"
#include "pipeline/image_metadata.h"

namespace pawtrait::pipeline {

namespace fs = std::filesystem;

int next_picture_index(const fs::path& folder) {
  static const std::regex pattern(R"(^(\d{5})-.*\.png$)");
  int next = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) next = std::max(next, std::stoi(m[1]) + 1);
  }
  return next;
}

fs::path write_picture(const fs::path& out, int& index, const std::vector<std::uint8_t>& rgb, std::int64_t width,
                       std::int64_t height, const GenerateRequest& request) {
  char name[64];
  fs::path target;
  do {
    std::snprintf(name, sizeof name, "%05d-%llu.png", index++, static_cast<unsigned long long>(request.seed));
    target = out / name;
  } while (fs::exists(target));
  imaging::write_png(target, rgb, width, height, png_metadata(request));
  return target;
}

}  // namespace pawtrait::pipeline
