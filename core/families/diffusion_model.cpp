#include "families/diffusion_model.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace pawtrait::families {

Conditioning Conditioning::to(const at::TensorOptions& options) const {
  Conditioning moved;
  for (const auto& [name, tensor] : tensors) {
    moved.tensors[name] = tensor.is_floating_point() ? tensor.to(options) : tensor.to(options.device());
  }
  moved.guidance_halves = guidance_halves;
  return moved;
}

Conditioning Conditioning::expand(std::int64_t n) const {
  Conditioning expanded;
  for (const auto& [name, tensor] : tensors) {
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(tensor.dim()), -1);
    sizes[0] = n;
    expanded.tensors[name] = tensor.expand(sizes);
  }
  expanded.guidance_halves = guidance_halves;
  return expanded;
}

Conditioning Conditioning::cat(const Conditioning& first, const Conditioning& second) {
  Conditioning joined;
  for (const auto& [name, tensor] : first.tensors) joined.tensors[name] = at::cat({tensor, second.at(name)});
  joined.guidance_halves = true;
  return joined;
}

const at::Tensor& Conditioning::at(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw Error("the prompt conditioning has no tensor \"" + name + "\"");
  return it->second;
}

}  // namespace pawtrait::families
