#include "common/cache_folder.h"

#include <cstdlib>

namespace pawtrait {

std::filesystem::path cache_folder() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "pawtrait";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "pawtrait";
  }
  return std::filesystem::temp_directory_path() / "pawtrait-cache";
}

}  // namespace pawtrait
