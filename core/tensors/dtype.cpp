#include "tensors/dtype.h"

#include <array>
#include <utility>

namespace pawtrait::tensors {
namespace {

struct DtypeRow {
  Dtype dtype;
  std::string_view name;  // as the safetensors format spells it
  std::size_t size;
  bool floating;
};

constexpr std::array<DtypeRow, 15> kDtypes{{
    {Dtype::F64, "F64", 8, true},
    {Dtype::F32, "F32", 4, true},
    {Dtype::F16, "F16", 2, true},
    {Dtype::BF16, "BF16", 2, true},
    {Dtype::F8_E4M3, "F8_E4M3", 1, true},
    {Dtype::F8_E5M2, "F8_E5M2", 1, true},
    {Dtype::I64, "I64", 8, false},
    {Dtype::I32, "I32", 4, false},
    {Dtype::I16, "I16", 2, false},
    {Dtype::I8, "I8", 1, false},
    {Dtype::U64, "U64", 8, false},
    {Dtype::U32, "U32", 4, false},
    {Dtype::U16, "U16", 2, false},
    {Dtype::U8, "U8", 1, false},
    {Dtype::BOOL, "BOOL", 1, false},
}};

const DtypeRow& row(Dtype dtype) { return kDtypes[static_cast<std::size_t>(dtype)]; }

}  // namespace

std::optional<Dtype> dtype_from_name(std::string_view name) {
  for (const DtypeRow& r : kDtypes) {
    if (r.name == name) return r.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_name(Dtype dtype) { return row(dtype).name; }
std::size_t dtype_size(Dtype dtype) { return row(dtype).size; }
bool is_floating(Dtype dtype) { return row(dtype).floating; }

}  // namespace pawtrait::tensors
