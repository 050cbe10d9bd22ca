#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

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

// While one lives on this thread, models built from scratch draw their initial weights from a
// generator of its own, seeded with `seed`, instead of the process's global one: a training
// job neither reseeds the generator another job in the same process (the app trains and
// generates at once) may use, nor depends on what that job drew from it. It yields the numbers
// at::manual_seed(seed) would have.
class SeededWeightInit {
 public:
  explicit SeededWeightInit(std::uint64_t seed);
  ~SeededWeightInit();
  SeededWeightInit(const SeededWeightInit&) = delete;
  SeededWeightInit& operator=(const SeededWeightInit&) = delete;

 private:
  std::optional<at::Generator> previous_;
};

// The generator of the SeededWeightInit living on this thread, if any.
std::optional<at::Generator> weight_init_generator();

// PyTorch's default initialisation of a Linear or Conv layer, for models built from scratch:
// weight kaiming-uniform with a = √5, bias uniform in ±1/√fan_in (bias may be undefined),
// from weight_init_generator() when there is one. Does nothing under SkipWeightInit.
void init_like_pytorch(at::Tensor& weight, at::Tensor& bias);

}  // namespace pawtrait::models
