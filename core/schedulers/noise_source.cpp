#include "schedulers/noise_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randn.h>

#include "common/error.h"

namespace pawtrait::schedulers {

GeneratorNoise::GeneratorNoise(std::uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor GeneratorNoise::next(at::IntArrayRef shape, const at::TensorOptions& options) {
  at::Tensor noise = at::randn(shape, generator_, at::TensorOptions().dtype(at::kFloat));
  return noise.to(options.device(), options.dtype().toScalarType());
}

at::Tensor RecordedNoise::next(at::IntArrayRef shape, const at::TensorOptions& options) {
  if (next_ >= draws_.size()) {
    throw Error("recorded noise exhausted after " + std::to_string(draws_.size()) + " draws");
  }
  at::Tensor draw = draws_[next_++];
  TORCH_CHECK(draw.sizes() == shape, "recorded noise has shape ", draw.sizes(), ", the sampler needs ", shape);
  return draw.to(options.device(), options.dtype().toScalarType());
}

}  // namespace pawtrait::schedulers
