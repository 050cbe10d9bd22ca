#include "common/file_chunks.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/error.h"

namespace pawtrait {

bool read_in_chunks(const std::filesystem::path& file, const std::atomic<bool>* cancel,
                    const std::function<void(const char* data, std::size_t size)>& take) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("can't read " + file.string() + ": " + std::strerror(errno));
  std::vector<char> buffer(1 << 20);
  while (in) {
    if (cancel != nullptr && cancel->load()) return false;
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) take(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error("can't read " + file.string() + ": " + std::strerror(errno));
  return true;
}

}  // namespace pawtrait
