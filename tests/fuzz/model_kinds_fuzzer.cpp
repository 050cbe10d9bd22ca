// libFuzzer target: any bytes as a folder's model_index.json, and as a single .safetensors
// file (its tensor names tell the architecture), are told apart or refused with
// pawtrait::Error: the detection that runs before any model is loaded.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "families/model_kinds.h"

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
  static const fs::path folder = [] {
    const fs::path f = fs::temp_directory_path() / ("pawtrait-fuzz-kinds-" + std::to_string(::getpid()));
    fs::create_directories(f / "folder");
    return f;
  }();
  return folder;
}

void write(const fs::path& file, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

template <typename Check>
void refused_or_passed(Check check) {
  try {
    check();
  } catch (const pawtrait::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pawtrait::families;
  const fs::path folder = scratch() / "folder";
  const fs::path single = scratch() / "model.safetensors";
  write(folder / "model_index.json", data, size);
  write(single, data, size);
  refused_or_passed([&] { kind_of_model(folder); });
  refused_or_passed([&] { refuse_unsupported(folder); });
  refused_or_passed([&] { kind_of_model(single); });
  refused_or_passed([&] { refuse_unsupported(single); });
  return 0;
}
