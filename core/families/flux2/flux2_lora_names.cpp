#include "families/flux2/flux2_lora_names.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "common/error.h"

namespace pawtrait::families {
namespace {

// The original names, dots spelt as underscores (kohya's spelling; a dotted name is turned
// into it first), and the diffusers modules each becomes: one, or three for a fused q/k/v.
const std::map<std::string, std::vector<std::string>>& block_names() {
  static const std::map<std::string, std::vector<std::string>> names = {
      {"img_attn_qkv", {"attn.to_q", "attn.to_k", "attn.to_v"}},
      {"txt_attn_qkv", {"attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"}},
      {"img_attn_proj", {"attn.to_out.0"}},
      {"txt_attn_proj", {"attn.to_add_out"}},
      {"img_mlp_0", {"ff.linear_in"}},
      {"img_mlp_2", {"ff.linear_out"}},
      {"txt_mlp_0", {"ff_context.linear_in"}},
      {"txt_mlp_2", {"ff_context.linear_out"}},
  };
  return names;
}

const std::map<std::string, std::string>& single_block_names() {
  static const std::map<std::string, std::string> names = {{"linear1", "attn.to_qkv_mlp_proj"},
                                                           {"linear2", "attn.to_out"}};
  return names;
}

const std::map<std::string, std::string>& outer_names() {
  static const std::map<std::string, std::string> names = {
      {"img_in", "x_embedder"},
      {"txt_in", "context_embedder"},
      {"time_in_in_layer", "time_guidance_embed.timestep_embedder.linear_1"},
      {"time_in_out_layer", "time_guidance_embed.timestep_embedder.linear_2"},
      {"guidance_in_in_layer", "time_guidance_embed.guidance_embedder.linear_1"},
      {"guidance_in_out_layer", "time_guidance_embed.guidance_embedder.linear_2"},
      {"final_layer_linear", "proj_out"},
      // As diffusers maps it for LoRAs: without the (shift, scale) swap its weight converter makes.
      {"final_layer_adaLN_modulation_1", "norm_out.linear"},
      {"single_stream_modulation_lin", "single_stream_modulation.linear"},
      {"double_stream_modulation_img_lin", "double_stream_modulation_img.linear"},
      {"double_stream_modulation_txt_lin", "double_stream_modulation_txt.linear"},
  };
  return names;
}

// The diffusers modules for an original name in underscore spelling; empty when it is not one.
std::vector<std::string> diffusers_modules(const std::string& underscored) {
  static const std::regex double_block(R"(double_blocks_(\d+)_(.+))");
  static const std::regex single_block(R"(single_blocks_(\d+)_(.+))");
  std::smatch m;
  if (std::regex_match(underscored, m, double_block)) {
    const auto it = block_names().find(m[2].str());
    if (it == block_names().end()) return {};
    std::vector<std::string> modules;
    for (const std::string& name : it->second) modules.push_back("transformer_blocks." + m[1].str() + "." + name);
    return modules;
  }
  if (std::regex_match(underscored, m, single_block)) {
    const auto it = single_block_names().find(m[2].str());
    if (it == single_block_names().end()) return {};
    return {"single_transformer_blocks." + m[1].str() + "." + it->second};
  }
  const auto it = outer_names().find(underscored);
  if (it == outer_names().end()) return {};
  return {it->second};
}

}  // namespace

models::LoraFile klein_lora_in_diffusers_names(const models::LoraFile& lora) {
  models::LoraFile out;
  out.path = lora.path;
  out.format = lora.format;
  bool original_names = false;
  for (const models::LoraLayer& layer : lora.layers) {
    if (layer.component != "transformer" && layer.component != "unet") {
      throw Error(lora.path + ": LoRA layer " + layer.component + "." + layer.module +
                  " is for a text encoder; FLUX.2 [klein] LoRAs change only the transformer");
    }
    std::string module = layer.module;
    if (module.starts_with("sformer_blocks.")) module = "tran" + module;  // an alias some exports write
    std::string underscored = module;
    std::replace(underscored.begin(), underscored.end(), '.', '_');
    const std::vector<std::string> modules = diffusers_modules(underscored);
    if (modules.empty()) {  // diffusers' own names (MergedLora checks that they exist)
      models::LoraLayer same = layer;
      same.component = "transformer";
      same.module = module;
      out.layers.push_back(std::move(same));
      continue;
    }
    original_names = true;
    const std::int64_t parts = static_cast<std::int64_t>(modules.size());
    if (layer.up.size(0) % parts != 0) {
      throw Error(lora.path + ": LoRA layer " + layer.module + " is a fused q/k/v update of " +
                  std::to_string(layer.up.size(0)) + " rows, which does not split in three; the file is damaged");
    }
    const std::vector<at::Tensor> ups = layer.up.chunk(parts, 0);
    for (std::int64_t i = 0; i < parts; ++i) {
      models::LoraLayer piece = layer;
      piece.component = "transformer";
      piece.module = modules[static_cast<std::size_t>(i)];
      piece.up = ups[static_cast<std::size_t>(i)].contiguous();
      out.layers.push_back(std::move(piece));
    }
  }
  if (original_names && out.format != "kohya") out.format = "BFL (ComfyUI, ai-toolkit)";
  return out;
}

}  // namespace pawtrait::families
