#include "models/module_placement.h"

#include <ATen/ATen.h>

namespace pawtrait::models {
namespace {

template <typename Visit>
void for_each_frozen(torch::nn::Module& module, const Visit& visit) {
  for (auto& item : module.named_parameters()) {
    if (!item.value().requires_grad()) visit(item.key(), item.value());
  }
  for (auto& item : module.named_buffers()) visit(item.key(), item.value());
}

}  // namespace

FrozenTensors frozen_tensors(torch::nn::Module& module) {
  FrozenTensors saved;
  for_each_frozen(module, [&](const std::string& name, at::Tensor& t) { saved.emplace(name, t.detach()); });
  return saved;
}

void replace_frozen(torch::nn::Module& module, const std::function<at::Tensor(const at::Tensor&)>& convert) {
  at::NoGradGuard no_grad;
  for_each_frozen(module, [&](const std::string&, at::Tensor& t) { t.set_data(convert(t)); });
}

void move_frozen(torch::nn::Module& module, c10::Device device) {
  replace_frozen(module, [&](const at::Tensor& t) { return t.device() == device ? t : t.to(device); });
}

void restore_frozen(torch::nn::Module& module, const FrozenTensors& saved) {
  at::NoGradGuard no_grad;
  const c10::Device cpu(c10::kCPU);
  for_each_frozen(module, [&](const std::string& name, at::Tensor& t) {
    if (const auto it = saved.find(name); it != saved.end()) {
      t.set_data(it->second);
    } else if (t.device() != cpu) {
      t.set_data(t.to(cpu));
    }
  });
}

}  // namespace pawtrait::models
