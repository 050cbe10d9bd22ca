#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pawtrait::models {

// How a new adapter's down matrix starts; the up matrix always starts at zero, so an
// untrained adapter changes nothing.
enum class LoraInit {
  Kaiming,   // PEFT's default (init_lora_weights=True): kaiming-uniform, a = sqrt(5)
  Gaussian,  // init_lora_weights="gaussian": N(0, 1/rank²), what diffusers' DreamBooth script used
};

// A Linear layer (weight [out, in], bias [out]) that can carry a LoRA adapter:
//   y = W x + b + scaling · lora_B(lora_A(x)),  scaling = alpha / rank   (Hu et al. 2021)
// Its parameters are named as PEFT's: "weight", "bias", "lora_A.weight", "lora_B.weight".
struct LoraLinearImpl : torch::nn::Module {
  LoraLinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  at::Tensor forward(const at::Tensor& x);

  // Adds a trainable adapter (float32, on the weight's device); returns its parameters.
  std::vector<at::Tensor> add_adapter(std::int64_t rank, double alpha, LoraInit init,
                                      std::optional<at::Generator> generator = std::nullopt);
  bool has_adapter() const { return !lora_A.is_empty(); }

  std::int64_t in_features, out_features;
  at::Tensor weight, bias;
  torch::nn::Linear lora_A{nullptr}, lora_B{nullptr};
  double scaling = 1.0;
};
TORCH_MODULE(LoraLinear);

// The adapter targets of the diffusers DreamBooth LoRA script: the attention projections.
inline const std::vector<std::string> kDefaultLoraTargets = {"to_q", "to_k", "to_v", "to_out.0"};

// Adds an adapter to every LoraLinear of `model` whose path ends with one of `targets`
// (".to_q" etc.), in module order; returns all adapter parameters in that order.
std::vector<at::Tensor> add_lora_adapters(torch::nn::Module& model, const std::vector<std::string>& targets,
                                          std::int64_t rank, double alpha, LoraInit init,
                                          std::optional<at::Generator> generator = std::nullopt);

}  // namespace pawtrait::models
