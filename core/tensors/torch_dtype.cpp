#include "tensors/torch_dtype.h"

#include <string>

#include "common/error.h"

namespace pawtrait::tensors {

c10::ScalarType to_scalar_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::F64:
      return c10::kDouble;
    case Dtype::F32:
      return c10::kFloat;
    case Dtype::F16:
      return c10::kHalf;
    case Dtype::BF16:
      return c10::kBFloat16;
    case Dtype::F8_E4M3:
      return c10::ScalarType::Float8_e4m3fn;
    case Dtype::F8_E5M2:
      return c10::ScalarType::Float8_e5m2;
    case Dtype::I64:
      return c10::kLong;
    case Dtype::I32:
      return c10::kInt;
    case Dtype::I16:
      return c10::kShort;
    case Dtype::I8:
      return c10::kChar;
    case Dtype::U64:
      return c10::ScalarType::UInt64;
    case Dtype::U32:
      return c10::ScalarType::UInt32;
    case Dtype::U16:
      return c10::ScalarType::UInt16;
    case Dtype::U8:
      return c10::kByte;
    case Dtype::BOOL:
      return c10::kBool;
  }
  throw Error("internal: unhandled safetensors dtype");
}

Dtype from_scalar_type(c10::ScalarType type) {
  switch (type) {
    case c10::kDouble:
      return Dtype::F64;
    case c10::kFloat:
      return Dtype::F32;
    case c10::kHalf:
      return Dtype::F16;
    case c10::kBFloat16:
      return Dtype::BF16;
    case c10::ScalarType::Float8_e4m3fn:
      return Dtype::F8_E4M3;
    case c10::ScalarType::Float8_e5m2:
      return Dtype::F8_E5M2;
    case c10::kLong:
      return Dtype::I64;
    case c10::kInt:
      return Dtype::I32;
    case c10::kShort:
      return Dtype::I16;
    case c10::kChar:
      return Dtype::I8;
    case c10::ScalarType::UInt64:
      return Dtype::U64;
    case c10::ScalarType::UInt32:
      return Dtype::U32;
    case c10::ScalarType::UInt16:
      return Dtype::U16;
    case c10::kByte:
      return Dtype::U8;
    case c10::kBool:
      return Dtype::BOOL;
    default:
      throw Error(std::string("tensors of type ") + c10::toString(type) + " cannot be saved as safetensors");
  }
}

}  // namespace pawtrait::tensors
