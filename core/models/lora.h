#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pawtrait::models {

// One low-rank update ΔW = (alpha / rank) · up · down (Hu et al. 2021) for one weight.
struct LoraLayer {
  std::string component;        // "unet", "text_encoder" or (SDXL) "text_encoder_2"
  std::string module;           // the module path in diffusers naming: "down_blocks.1.attentions.0...to_k"
  at::Tensor down;              // [rank, in] (or a conv kernel [rank, in, kh, kw]); "lora_A"
  at::Tensor up;                // [out, rank] (or [out, rank, 1, 1]); "lora_B"
  std::optional<double> alpha;  // absent: alpha = rank, a scale of 1
  std::int64_t rank() const { return down.size(0); }
};

struct LoraFile {
  std::string path;
  std::string format;  // "peft" (diffusers/PEFT), "diffusers-legacy" (lora.down/up) or "kohya"
  std::vector<LoraLayer> layers;
};

// Reads a LoRA .safetensors file in any of the three layouts other tools write. Kohya's
// underscore names are resolved against the modules they will be applied to, later.
LoraFile load_lora(const std::filesystem::path& file);

// A module a LoRA may change, under the component name its layers carry. `alias`, when set,
// gives a second name for a weight's module path, "" for none: the original (SGM/LDM) names
// kohya's tools write for SDXL's UNet ("input_blocks.4.1.transformer_blocks.0.attn1.to_k").
struct LoraTarget {
  std::string component;
  torch::nn::Module* module = nullptr;
  std::function<std::string(const std::string& module_path)> alias;
};

// Adds strength · ΔW of every layer to the weights of its target, and puts the original
// weights back when destroyed, so one loaded model serves runs with different LoRAs.
// Throws pawtrait::Error, changing nothing, when the LoRA names modules these models lack or
// its shapes do not fit (a LoRA made for another architecture).
class MergedLora {
 public:
  MergedLora(const std::vector<LoraTarget>& targets, const LoraFile& lora, double strength);
  // Stable Diffusion 1.x/2.x: "unet" and "text_encoder".
  MergedLora(torch::nn::Module& unet, torch::nn::Module& text_encoder, const LoraFile& lora, double strength);
  ~MergedLora();
  MergedLora(const MergedLora&) = delete;
  MergedLora& operator=(const MergedLora&) = delete;

  std::size_t merged_layers() const { return originals_.size(); }

 private:
  std::vector<std::pair<at::Tensor, at::Tensor>> originals_;  // (live weight, saved copy on the CPU)
};

}  // namespace pawtrait::models
