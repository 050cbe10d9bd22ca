#include "models/lora_export.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <charconv>

#include "common/error.h"
#include "models/lora_linear.h"
#include "tensors/safetensors_writer.h"

namespace pawtrait::models {
namespace {

// A float as Python's str() prints it ("8.0", "0.5"), since kohya's metadata holds str(alpha).
std::string python_float(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof(buffer), value).ptr;
  std::string text(buffer, end);
  if (text.find_first_of(".eni") == std::string::npos) text += ".0";
  return text;
}

double alpha_of(const LoraLayer& layer) { return layer.alpha.value_or(static_cast<double>(layer.rank())); }

// Both writers refuse what no reader could use, before anything is written.
void check_layers(const std::filesystem::path& file, const std::vector<LoraLayer>& layers,
                  bool two_text_encoders = true, bool transformer = false) {
  if (layers.empty()) {
    throw Error("cannot write " + file.string() +
                ": there are no LoRA layers to save; add adapters (add_lora_adapters) and train them first");
  }
  for (const LoraLayer& l : layers) {
    if (l.component != "unet" && l.component != "text_encoder" &&
        !(two_text_encoders && l.component == "text_encoder_2") && !(transformer && l.component == "transformer")) {
      throw Error("cannot write " + file.string() + ": LoRA layer '" + l.module + "' is for component '" + l.component +
                  "'; only \"unet\" and \"text_encoder\"" + (two_text_encoders ? " and \"text_encoder_2\"" : "") +
                  (transformer ? " and \"transformer\"" : "") + " can be saved");
    }
    TORCH_CHECK(l.down.defined() && l.up.defined(), "LoRA layer ", l.module, " lacks its down or up matrix");
    TORCH_CHECK(l.up.dim() >= 2 && l.up.size(1) == l.rank(), "LoRA layer ", l.module, " has mismatched ranks (",
                l.rank(), " and ", l.up.sizes(), ")");
  }
}

}  // namespace

std::vector<LoraLayer> collect_lora_layers(torch::nn::Module& model, const std::string& component) {
  std::vector<LoraLayer> layers;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    const auto* linear = item.value()->as<LoraLinearImpl>();
    if (linear == nullptr || !linear->has_adapter()) continue;
    auto copy = [](const at::Tensor& t) {
      return t.detach().to(at::kCPU, at::kFloat, /*non_blocking=*/false, /*copy=*/true);
    };
    LoraLayer layer;
    layer.component = component;
    layer.module = item.key();
    layer.down = copy(linear->lora_A->weight);
    layer.up = copy(linear->lora_B->weight);
    layer.alpha = linear->scaling * static_cast<double>(layer.rank());
    layers.push_back(std::move(layer));
  }
  return layers;
}

void save_lora_kohya(const std::filesystem::path& file, const std::vector<LoraLayer>& layers,
                     const std::map<std::string, std::string>& metadata, const KohyaNames& names) {
  check_layers(file, layers, names.two_text_encoders);
  tensors::NamedTensors tensors;
  bool uniform = true;
  for (const LoraLayer& l : layers) {
    std::string module = l.module;
    if (l.component == "unet" && names.unet) {
      module = names.unet(l.module);
      if (module.empty()) {
        throw Error("cannot write " + file.string() + ": the UNet module '" + l.module +
                    "' has no name in the original layout");
      }
    }
    const char* prefix = l.component == "unet"             ? "lora_unet_"
                         : l.component == "text_encoder_2" ? "lora_te2_"
                         : names.two_text_encoders         ? "lora_te1_"
                                                           : "lora_te_";
    std::string name = prefix + module;
    std::replace(name.begin(), name.end(), '.', '_');
    tensors.emplace_back(name + ".lora_down.weight", l.down);
    tensors.emplace_back(name + ".lora_up.weight", l.up);
    // Written even when the layer has none: A1111 reads a missing alpha as a scale of 1 too,
    // but other tools guess differently.
    tensors.emplace_back(name + ".alpha", at::scalar_tensor(alpha_of(l), at::kFloat));
    uniform = uniform && l.rank() == layers.front().rank() && alpha_of(l) == alpha_of(layers.front());
  }
  // The caller's entries (training settings, a title) first; the network's shape is read off
  // the tensors, so it wins over a stale value. "Dynamic" is what sd-scripts' resize_lora
  // writes when the ranks differ between layers.
  std::map<std::string, std::string> meta = metadata;
  meta["ss_network_module"] = "networks.lora";
  meta["ss_network_dim"] = uniform ? std::to_string(layers.front().rank()) : "Dynamic";
  meta["ss_network_alpha"] = uniform ? python_float(alpha_of(layers.front())) : "Dynamic";
  tensors::write_safetensors(file, tensors, meta);
}

void save_lora_peft(const std::filesystem::path& file, const std::vector<LoraLayer>& layers,
                    const std::map<std::string, std::string>& metadata) {
  check_layers(file, layers, /*two_text_encoders=*/true, /*transformer=*/true);
  tensors::NamedTensors tensors;
  for (const LoraLayer& l : layers) {
    const std::string name = l.component + "." + l.module;
    tensors.emplace_back(name + ".lora_A.weight", l.down);
    tensors.emplace_back(name + ".lora_B.weight", l.up * (alpha_of(l) / static_cast<double>(l.rank())));
  }
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "pt");  // what safetensors.torch.save_file, and so diffusers, writes
  tensors::write_safetensors(file, tensors, meta);
}

}  // namespace pawtrait::models
