#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "tensors/dtype.h"

namespace pawtrait::tensors {

// One tensor as a safetensors header describes it. Offsets are relative to the start of
// the data section (the byte after the header).
struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::int64_t numel() const;
  std::uint64_t byte_size() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;             // sorted by data offset, i.e. in file order
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" object
  std::uint64_t data_start = 0;                 // absolute file offset of the data section
  std::uint64_t data_size = 0;
};

// The format: an 8-byte little-endian header length N, N bytes of JSON (an object mapping
// tensor names to {dtype, shape, data_offsets}, plus "__metadata__"), then the data.
// Validates everything a reader relies on: the header fits in the file, is a JSON object
// without duplicate names, every dtype is known, byte counts equal dtype size x shape, and
// the tensors tile the data section exactly (no overlap, no gap, nothing past the end).
// Throws pawtrait::Error naming `source` (usually the file path) and the tensor.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file, const std::string& source);

// The largest header accepted; the reference implementation uses the same bound.
inline constexpr std::uint64_t kMaxSafetensorsHeaderSize = 100'000'000;

}  // namespace pawtrait::tensors
