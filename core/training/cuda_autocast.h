#pragma once

#include <c10/core/ScalarType.h>

namespace pawtrait::training {

// Autocast on CUDA for a training forward in `dtype`, as it was again when leaving the scope.
// Off (`on` false), it does nothing: the CPU and float32 runs compute in their weights' dtype.
class CudaAutocast {
 public:
  CudaAutocast(bool on, c10::ScalarType dtype);
  ~CudaAutocast();
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool on_;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::kHalf;
};

}  // namespace pawtrait::training
