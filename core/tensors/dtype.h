#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace pawtrait::tensors {

// The element types a safetensors file can name. Kept free of LibTorch so that header
// parsing (and its fuzzer) builds without it; torch_dtype.h maps these to at::ScalarType.
enum class Dtype { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

std::optional<Dtype> dtype_from_name(std::string_view name);
std::string_view dtype_name(Dtype dtype);
std::size_t dtype_size(Dtype dtype);
bool is_floating(Dtype dtype);

}  // namespace pawtrait::tensors
