#include "models/lora.h"

#include <nlohmann/json.hpp>

#include <ATen/ATen.h>

#include <cmath>
#include <map>

#include "common/error.h"
#include "tensors/safetensors_reader.h"

namespace pawtrait::models {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Pending {
  at::Tensor down, up;
  std::optional<double> alpha;
};

// Splits "<component>.<module>.<part>" into the layer it belongs to and which tensor it is.
bool classify(const std::string& key, std::string& layer, std::string& part, std::string& format) {
  static const std::pair<const char*, const char*> peft[] = {
      {".lora_A.weight", "down"}, {".lora_B.weight", "up"}, {".lora.down.weight", "down"}, {".lora.up.weight", "up"}};
  for (const auto& [suffix, which] : peft) {
    if (ends_with(key, suffix)) {
      layer = key.substr(0, key.size() - std::string_view(suffix).size());
      part = which;
      format = std::string(suffix).find("lora_A") != std::string::npos ||
                       std::string(suffix).find("lora_B") != std::string::npos
                   ? "peft"
                   : "diffusers-legacy";
      return true;
    }
  }
  static const std::pair<const char*, const char*> kohya[] = {
      {".lora_down.weight", "down"}, {".lora_up.weight", "up"}, {".alpha", "alpha"}};
  for (const auto& [suffix, which] : kohya) {
    if (ends_with(key, suffix)) {
      layer = key.substr(0, key.size() - std::string_view(suffix).size());
      part = which;
      format = "kohya";
      return true;
    }
  }
  return false;
}

// diffusers' save_lora_weights stores the LoraConfig as JSON metadata ("lora_adapter_metadata",
// keys prefixed with the component: "transformer.lora_alpha"); load_lora_weights takes α from
// there, and without it α = r.
std::optional<double> adapter_alpha(const std::map<std::string, std::string>& metadata, const std::string& component,
                                    const std::filesystem::path& file) {
  const auto it = metadata.find("lora_adapter_metadata");
  if (it == metadata.end()) return std::nullopt;
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception&) {
    throw Error(file.string() + ": its lora_adapter_metadata is not JSON; the file is damaged");
  }
  for (const std::string& key : {component + ".lora_alpha", std::string("lora_alpha")}) {
    const auto alpha = config.find(key);
    if (alpha != config.end() && alpha->is_number() && alpha->get<double>() > 0) return alpha->get<double>();
  }
  return std::nullopt;
}

}  // namespace

LoraFile load_lora(const std::filesystem::path& file) {
  const auto st = tensors::SafetensorsFile::open(file);
  LoraFile lora;
  lora.path = file.string();
  std::map<std::string, Pending> pending;
  for (const auto& entry : st.entries()) {
    std::string layer, part, format;
    if (!classify(entry.name, layer, part, format)) {
      throw Error(file.string() + ": tensor '" + entry.name + "' is not part of a LoRA; is this a LoRA file?");
    }
    if (lora.format.empty()) lora.format = format;
    Pending& p = pending[layer];
    const at::Tensor t = st.tensor(entry).to(at::kFloat).clone();
    if (part == "alpha") {
      const double alpha = t.numel() == 1 ? t.item<double>() : -1.0;
      if (!(alpha >= 0) || !std::isfinite(alpha)) {  // 0 is kept: diffusers scales by it
        throw Error(file.string() + ": LoRA alpha '" + entry.name + "' must be one number of 0 or more, not " +
                    (t.numel() == 1 ? std::to_string(alpha) : "a tensor of shape " + c10::str(t.sizes())) +
                    "; the file is damaged");
      }
      p.alpha = alpha;
      continue;
    }
    // Linear layers' matrices are [rank, in] and [out, rank]; convolutions' add the kernel.
    if ((t.dim() != 2 && t.dim() != 4) || t.numel() == 0) {
      throw Error(file.string() + ": LoRA matrix '" + entry.name + "' has shape " + c10::str(t.sizes()) +
                  "; a LoRA's matrices are 2-D (or 4-D for a convolution) and not empty: the file is damaged");
    }
    (part == "down" ? p.down : p.up) = t;
  }
  if (pending.empty()) throw Error(file.string() + " holds no tensors; it is not a LoRA");
  for (auto& [layer, p] : pending) {
    if (!p.down.defined() || !p.up.defined()) {
      throw Error(file.string() + ": LoRA layer '" + layer + "' lacks its " + (p.down.defined() ? "up" : "down") +
                  " matrix; the file is incomplete");
    }
    LoraLayer l;
    // diffusers/PEFT prefixes, then kohya's (lora_te1_/lora_te2_: SDXL's two encoders).
    static const std::pair<const char*, const char*> prefixes[] = {{"unet.", "unet"},
                                                                   {"text_encoder_2.", "text_encoder_2"},
                                                                   {"text_encoder.", "text_encoder"},
                                                                   {"transformer.", "transformer"},
                                                                   // FLUX's original names (ComfyUI, ai-toolkit) and
                                                                   // PEFT's own prefix for the same.
                                                                   {"diffusion_model.", "transformer"},
                                                                   {"base_model.model.", "transformer"},
                                                                   {"lora_unet_", "unet"},
                                                                   {"lora_te1_", "text_encoder"},
                                                                   {"lora_te2_", "text_encoder_2"},
                                                                   {"lora_te_", "text_encoder"}};
    for (const auto& [prefix, component] : prefixes) {
      if (layer.starts_with(prefix)) {
        l.component = component;
        l.module = layer.substr(std::string_view(prefix).size());
        break;
      }
    }
    if (l.component.empty()) {
      throw Error(file.string() + ": LoRA layer '" + layer +
                  "' is for neither the UNet, the transformer nor a text encoder");
    }
    l.down = p.down;
    l.up = p.up;
    l.alpha = p.alpha ? p.alpha : adapter_alpha(st.metadata(), l.component, file);
    if (l.down.size(0) != l.up.size(1)) {
      throw Error(file.string() + ": LoRA layer '" + layer + "' has mismatched ranks (" +
                  std::to_string(l.down.size(0)) + " and " + std::to_string(l.up.size(1)) + ")");
    }
    lora.layers.push_back(std::move(l));
  }
  return lora;
}

MergedLora::MergedLora(torch::nn::Module& unet, torch::nn::Module& text_encoder, const LoraFile& lora, double strength)
    : MergedLora({{"unet", &unet, {}}, {"text_encoder", &text_encoder, {}}}, lora, strength) {}

MergedLora::MergedLora(const std::vector<LoraTarget>& targets, const LoraFile& lora, double strength) {
  // Weights by component and module path, by kohya's underscore spelling of the same path,
  // and by the alias's names in both spellings.
  std::map<std::string, std::map<std::string, at::Tensor>> weights;
  const auto add = [](std::map<std::string, at::Tensor>& table, const std::string& path, const at::Tensor& weight) {
    table.emplace(path, weight);
    std::string underscored = path;
    std::replace(underscored.begin(), underscored.end(), '.', '_');
    table.emplace(underscored, weight);
  };
  for (const LoraTarget& target : targets) {
    auto& table = weights[target.component];
    for (const auto& item : target.module->named_parameters()) {
      if (!ends_with(item.key(), ".weight")) continue;
      const std::string path = item.key().substr(0, item.key().size() - 7);
      add(table, path, item.value());
      if (target.alias) {
        if (const std::string other = target.alias(path); !other.empty()) add(table, other, item.value());
      }
    }
  }
  // Check everything before changing anything.
  std::vector<std::pair<at::Tensor, at::Tensor>> plan;  // (weight, delta)
  std::vector<std::string> unknown;
  for (const LoraLayer& l : lora.layers) {
    auto& table = weights[l.component];
    auto it = table.find(l.module);
    if (it == table.end()) {
      unknown.push_back(l.component + "." + l.module);
      continue;
    }
    const at::Tensor& w = it->second;
    const double scale = l.alpha.value_or(static_cast<double>(l.rank())) / static_cast<double>(l.rank());
    const at::Tensor up = l.up.reshape({l.up.size(0), l.rank()});
    const at::Tensor down = l.down.reshape({l.rank(), -1});
    if (up.size(0) * down.size(1) != w.numel() || up.size(0) != w.size(0)) {
      throw Error(lora.path + " was made for another architecture: " + l.component + "." + l.module + " has weight " +
                  c10::str(w.sizes()) + ", the LoRA's update is [" + std::to_string(up.size(0)) + ", " +
                  std::to_string(down.size(1)) + "]");
    }
    plan.emplace_back(w, (at::matmul(up, down) * (scale * strength)).reshape(w.sizes()));
  }
  if (!unknown.empty()) {
    std::string names;
    for (std::size_t i = 0; i < unknown.size() && i < 3; ++i) names += (i ? ", " : "") + unknown[i];
    throw Error(lora.path + " changes " + std::to_string(unknown.size()) + " layer(s) this model does not have (" +
                names + (unknown.size() > 3 ? ", ..." : "") + "); it was made for another architecture");
  }
  at::NoGradGuard no_grad;
  for (auto& [w, delta] : plan) {
    // The saved copy waits in the CPU's memory: a GPU holds the model once, not twice.
    originals_.emplace_back(w, w.to(at::kCPU, /*non_blocking=*/false, /*copy=*/true));
    w.add_(delta.to(w.device(), w.scalar_type()));
  }
}

MergedLora::~MergedLora() {
  at::NoGradGuard no_grad;
  for (auto& [live, saved] : originals_) live.copy_(saved);
}

}  // namespace pawtrait::models
