#pragma once

#include <c10/core/ScalarType.h>

#include "tensors/dtype.h"

namespace pawtrait::tensors {

c10::ScalarType to_scalar_type(Dtype dtype);
// Throws pawtrait::Error for LibTorch types the format cannot store (complex, quantized).
Dtype from_scalar_type(c10::ScalarType type);

}  // namespace pawtrait::tensors
