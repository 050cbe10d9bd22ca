#pragma once

#include <ATen/core/Tensor.h>

namespace pawtrait::models {

// While one lives on this thread, the layers Pawtrait's models are built from leave their
// new weights uninitialised (allocated, never touched): a strict load is about to replace
// every one of them, and drawing ~10⁹ random numbers first is most of the time a load of
// Stable Diffusion would take otherwise.
class SkipWeightInit {
 public:
  SkipWeightInit();
  ~SkipWeightInit();
  SkipWeightInit(const SkipWeightInit&) = delete;
  SkipWeightInit& operator=(const SkipWeightInit&) = delete;

 private:
  bool previous_;
};

// Whether a SkipWeightInit lives on this thread.
bool weight_init_skipped();

// PyTorch's default initialisation of a Linear or Conv layer, for models built from scratch:
// weight kaiming-uniform with a = √5, bias uniform in ±1/√fan_in (bias may be undefined).
// Does nothing under SkipWeightInit.
void init_like_pytorch(at::Tensor& weight, at::Tensor& bias);

}  // namespace pawtrait::models
