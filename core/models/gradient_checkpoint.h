#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace pawtrait::models {

// Gradient checkpointing (Chen et al. 2016): runs fn(a, b) without keeping its intermediate
// activations when gradients are being recorded, and runs it again during the backward pass.
// `b` may be undefined. fn must be deterministic (no dropout, no RNG).
//
// `parameters` are the tensors fn reads besides a and b (a module's parameters()). Those that
// require grad become inputs of the checkpoint node, so they get their gradients even when
// neither a nor b requires grad: in LoRA training the latents and the frozen layers before
// the first adapter carry no gradient, and PyTorch's reentrant checkpoint would then return
// an output that does not require grad and drop the adapters' gradients without a word.
using CheckpointedFn = std::function<at::Tensor(const at::Tensor& a, const at::Tensor& b)>;
at::Tensor checkpointed(const CheckpointedFn& fn, const at::Tensor& a, const at::Tensor& b,
                        const std::vector<at::Tensor>& parameters = {});

}  // namespace pawtrait::models
