#include "training/cuda_autocast.h"

#include <ATen/autocast_mode.h>

namespace pawtrait::training {

CudaAutocast::CudaAutocast(bool on, c10::ScalarType dtype) : on_(on) {
  if (!on_) return;
  previous_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
}

CudaAutocast::~CudaAutocast() {
  if (!on_) return;
  at::autocast::set_autocast_enabled(at::kCUDA, previous_enabled_);
  at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
  at::autocast::clear_cache();
}

}  // namespace pawtrait::training
