#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace pawtrait::models {

// A lookup table ("weight" [count, dim]) with PyTorch's N(0, 1) initialisation, skipped under
// SkipWeightInit (LibTorch's own Embedding always draws it: 38 M numbers for CLIP's tokens).
struct EmbeddingImpl : torch::nn::Module {
  EmbeddingImpl(std::int64_t count, std::int64_t dim);
  at::Tensor forward(const at::Tensor& ids);

  at::Tensor weight;
};
TORCH_MODULE(Embedding);

}  // namespace pawtrait::models
