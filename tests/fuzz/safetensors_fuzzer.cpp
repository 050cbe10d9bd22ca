// libFuzzer target: any byte string given to the safetensors header parser either parses
// into entries that lie inside the buffer, or throws pawtrait::Error. Crashes, sanitizer
// reports and other exception types are failures.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/error.h"
#include "tensors/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    auto header = pawtrait::tensors::parse_safetensors_header(bytes, "fuzz-input");
    for (const auto& entry : header.tensors) {
      // The invariant every reader relies on: each tensor lies inside the file.
      if (entry.end < entry.begin || header.data_start + entry.end > size ||
          entry.byte_size() != static_cast<std::uint64_t>(entry.numel()) * pawtrait::tensors::dtype_size(entry.dtype)) {
        std::abort();
      }
    }
  } catch (const pawtrait::Error&) {
  }
  return 0;
}
