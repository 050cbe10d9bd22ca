#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <string>

namespace pawtrait::models {

// Where a module's frozen weights live, for models too large to keep two of on one GPU
// (FLUX.2 [klein]'s 4B transformer and 4B text encoder are 8 GB each in bf16): the
// parameters that do not train, and the buffers. Trainable ones (LoRA adapters) stay where
// they are, with their gradients and optimizer state. Tensors are replaced with set_data, so
// every handle to a parameter (an optimizer's, a merged LoRA's) follows it.
using FrozenTensors = std::map<std::string, at::Tensor>;

// The frozen tensors by name, as they are now (on the CPU after loading: views of the file).
FrozenTensors frozen_tensors(torch::nn::Module& module);

// Copies the frozen tensors to `device` (nothing for those already there).
void move_frozen(torch::nn::Module& module, c10::Device device);

// Replaces each frozen tensor t with convert(t): move_frozen's engine, also what tests drive
// with a dtype change where a device move would need a GPU.
void replace_frozen(torch::nn::Module& module, const std::function<at::Tensor(const at::Tensor&)>& convert);

// Puts `saved` back in place of the frozen tensors of the same name, without copying: the
// cheap way back to the CPU for weights that were not changed since they were saved. Frozen
// tensors that `saved` lacks (adapters added since) are copied to the CPU.
void restore_frozen(torch::nn::Module& module, const FrozenTensors& saved);

}  // namespace pawtrait::models
