#include "imaging/caption_sidecar.h"

#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace pawtrait::imaging {

namespace fs = std::filesystem;

constexpr std::uintmax_t kLongestCaption = 4096;  // bytes: a sentence, not a file someone misnamed

fs::path caption_sidecar_path(const fs::path& photo) { return fs::path(photo).replace_extension(".txt"); }

std::string read_caption_sidecar(const fs::path& photo) {
  const fs::path file = caption_sidecar_path(photo);
  std::error_code error;
  if (!fs::is_regular_file(file, error)) return "";
  if (fs::file_size(file, error) > kLongestCaption) {
    throw Error(file.string() +
                " is too long for a caption (more than 4 KiB); a caption is a short phrase such as "
                "\"lying on the grass\"");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read the caption " + file.string() + "; check its permissions");
  std::string caption, word;
  while (in >> word) caption += (caption.empty() ? "" : " ") + word;
  return caption;
}

void write_caption_sidecar(const fs::path& photo, const std::string& caption) {
  const fs::path file = caption_sidecar_path(photo);
  std::istringstream words(caption);
  std::string folded, word;
  while (words >> word) folded += (folded.empty() ? "" : " ") + word;
  if (folded.empty()) {
    std::error_code ignored;
    fs::remove(file, ignored);
    return;
  }
  write_file_atomically(file, folded + "\n");
}

}  // namespace pawtrait::imaging
