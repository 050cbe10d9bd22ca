#include "models/lora_linear.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "models/weight_init.h"

namespace pawtrait::models {

LoraLinearImpl::LoraLinearImpl(std::int64_t in, std::int64_t out, bool with_bias) : in_features(in), out_features(out) {
  weight = register_parameter("weight", at::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", at::empty({out}));
  init_like_pytorch(weight, bias);
}

at::Tensor LoraLinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::linear(x, weight, bias);
  if (has_adapter()) {
    const at::Tensor h = x.to(lora_A->weight.scalar_type());
    y = y + (lora_B->forward(lora_A->forward(h)) * scaling).to(y.scalar_type());
  }
  return y;
}

std::vector<at::Tensor> LoraLinearImpl::add_adapter(std::int64_t rank, double alpha, LoraInit init,
                                                    std::optional<at::Generator> generator) {
  TORCH_CHECK(rank > 0, "LoRA rank must be positive");
  auto down = torch::nn::Linear(torch::nn::LinearOptions(in_features, rank).bias(false));
  auto up = torch::nn::Linear(torch::nn::LinearOptions(rank, out_features).bias(false));
  {
    at::NoGradGuard no_grad;
    if (init == LoraInit::Gaussian) {
      down->weight.normal_(0.0, 1.0 / static_cast<double>(rank), generator);
    } else {
      // kaiming_uniform_(a=sqrt(5)) on [rank, in]: bound = sqrt(6 / ((1 + 5) · in)) = 1/sqrt(in).
      const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
      down->weight.uniform_(-bound, bound, generator);
    }
    up->weight.zero_();
  }
  down->to(weight.device(), at::kFloat);
  up->to(weight.device(), at::kFloat);
  lora_A = register_module("lora_A", down);
  lora_B = register_module("lora_B", up);
  scaling = alpha / static_cast<double>(rank);
  return {lora_A->weight, lora_B->weight};
}

std::vector<at::Tensor> add_lora_adapters(torch::nn::Module& model, const std::vector<std::string>& targets,
                                          std::int64_t rank, double alpha, LoraInit init,
                                          std::optional<at::Generator> generator) {
  std::vector<at::Tensor> params;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* linear = dynamic_cast<LoraLinearImpl*>(item.value().get());
    if (linear == nullptr || linear->has_adapter()) continue;
    const std::string& name = item.key();
    for (const auto& target : targets) {
      if (name.size() > target.size() && name.compare(name.size() - target.size(), target.size(), target) == 0 &&
          name[name.size() - target.size() - 1] == '.') {
        for (auto& p : linear->add_adapter(rank, alpha, init, generator)) params.push_back(p);
        break;
      }
    }
  }
  return params;
}

}  // namespace pawtrait::models
