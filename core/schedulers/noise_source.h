#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace pawtrait::schedulers {

// Where an ancestral sampler's fresh noise comes from. Noise is always drawn on the CPU in
// float32 and then moved, so the same seed gives the same picture on every device (and the
// same numbers as torch.randn with a CPU torch.Generator of that seed).
class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  virtual at::Tensor next(at::IntArrayRef shape, const at::TensorOptions& options) = 0;
};

class GeneratorNoise : public NoiseSource {
 public:
  explicit GeneratorNoise(std::uint64_t seed);
  at::Tensor next(at::IntArrayRef shape, const at::TensorOptions& options) override;
  at::Generator& generator() { return generator_; }

 private:
  at::Generator generator_;
};

// Replays noise recorded elsewhere (tests replay the reference's own draws).
class RecordedNoise : public NoiseSource {
 public:
  explicit RecordedNoise(std::vector<at::Tensor> draws) : draws_(std::move(draws)) {}
  at::Tensor next(at::IntArrayRef shape, const at::TensorOptions& options) override;
  std::size_t used() const { return next_; }

 private:
  std::vector<at::Tensor> draws_;
  std::size_t next_ = 0;
};

}  // namespace pawtrait::schedulers
