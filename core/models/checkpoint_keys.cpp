#include "models/checkpoint_keys.h"

#include <c10/util/Exception.h>

#include <numeric>
#include <string_view>
#include <vector>

namespace pawtrait::models {
namespace {

// Splits "a.b.c" at dots.
std::vector<std::string> split(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
    parts.push_back(name.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(name.substr(start));
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : ".") + parts[i];
  return out;
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// A UNet resnet's sub-names: LDM keeps nn.Sequential indices.
std::string unet_resnet(const std::string& rest) {
  static const std::pair<const char*, const char*> names[] = {
      {"norm1.", "in_layers.0."},  {"conv1.", "in_layers.2."},  {"time_emb_proj.", "emb_layers.1."},
      {"norm2.", "out_layers.0."}, {"conv2.", "out_layers.3."}, {"conv_shortcut.", "skip_connection."}};
  for (const auto& [from, to] : names) {
    if (starts_with(rest, from)) return to + rest.substr(std::string_view(from).size());
  }
  TORCH_CHECK(false, "unknown UNet resnet tensor ", rest);
}

// A VAE resnet's sub-names: only the shortcut differs.
std::string vae_resnet(const std::string& rest) {
  if (starts_with(rest, "conv_shortcut.")) return "nin_shortcut." + rest.substr(14);
  return rest;
}

std::string vae_mid(const std::vector<std::string>& p, std::size_t i) {
  // p[i] == "mid_block"; p[i+1] "resnets"/"attentions", p[i+2] index.
  const std::string rest = join(p, i + 3);
  if (p[i + 1] == "resnets") return "mid.block_" + std::to_string(std::stoi(p[i + 2]) + 1) + "." + vae_resnet(rest);
  static const std::pair<const char*, const char*> names[] = {
      {"group_norm.", "norm."}, {"to_q.", "q."}, {"to_k.", "k."}, {"to_v.", "v."}, {"to_out.0.", "proj_out."}};
  for (const auto& [from, to] : names) {
    if (starts_with(rest, from)) return std::string("mid.attn_1.") + to + rest.substr(std::string_view(from).size());
  }
  TORCH_CHECK(false, "unknown VAE attention tensor ", rest);
}

}  // namespace

tensors::TensorSource ldm_unet_source(const std::string& name, const UNet2DConditionConfig& c) {
  const std::vector<std::string> p = split(name);
  const std::size_t n = c.down_block_types.size();
  if (starts_with(name, "conv_in.")) return {"input_blocks.0.0." + join(p, 1)};
  if (starts_with(name, "time_embedding.linear_1.")) return {"time_embed.0." + join(p, 2)};
  if (starts_with(name, "time_embedding.linear_2.")) return {"time_embed.2." + join(p, 2)};
  // SDXL's added conditioning (pooled text + size ids) is SGM's label embedding.
  if (starts_with(name, "add_embedding.linear_1.")) return {"label_emb.0.0." + join(p, 2)};
  if (starts_with(name, "add_embedding.linear_2.")) return {"label_emb.0.2." + join(p, 2)};
  if (starts_with(name, "conv_norm_out.")) return {"out.0." + join(p, 1)};
  if (starts_with(name, "conv_out.")) return {"out.2." + join(p, 1)};
  if (p[0] == "mid_block") {
    const int index = std::stoi(p[2]);
    if (p[1] == "attentions") return {"middle_block.1." + join(p, 3)};
    return {"middle_block." + std::to_string(index == 0 ? 0 : 2) + "." + unet_resnet(join(p, 3))};
  }
  const std::size_t block = std::stoul(p[1]);
  if (p[0] == "down_blocks") {
    // input_blocks: conv_in, then per down block its resnets and (but the last) a downsampler.
    std::int64_t first = 1;
    for (std::size_t k = 0; k < block; ++k) first += c.layers_per_block[k] + 1;
    if (p[2] == "downsamplers")
      return {"input_blocks." + std::to_string(first + c.layers_per_block[block]) + ".0.op." + join(p, 5)};
    const std::int64_t index = first + std::stoll(p[3]);
    if (p[2] == "attentions") return {"input_blocks." + std::to_string(index) + ".1." + join(p, 4)};
    return {"input_blocks." + std::to_string(index) + ".0." + unet_resnet(join(p, 4))};
  }
  TORCH_CHECK(p[0] == "up_blocks", "unknown UNet tensor ", name);
  // output_blocks: per up block layers + 1 resnets; the last of them also holds the upsampler.
  std::int64_t first = 0;
  for (std::size_t k = 0; k < block; ++k) first += c.layers_per_block[n - 1 - k] + 1;
  const std::int64_t layers = c.layers_per_block[n - 1 - block] + 1;
  if (p[2] == "upsamplers") {
    const bool has_attention = c.up_block_types[block] == "CrossAttnUpBlock2D";
    return {"output_blocks." + std::to_string(first + layers - 1) + "." + (has_attention ? "2" : "1") + ".conv." +
            join(p, 5)};
  }
  const std::int64_t index = first + std::stoll(p[3]);
  if (p[2] == "attentions") return {"output_blocks." + std::to_string(index) + ".1." + join(p, 4)};
  return {"output_blocks." + std::to_string(index) + ".0." + unet_resnet(join(p, 4))};
}

std::string ldm_unet_module(const std::string& module_path, const UNet2DConditionConfig& config) {
  try {
    const std::string name = ldm_unet_source(module_path + ".weight", config).name;
    return name.ends_with(".weight") ? name.substr(0, name.size() - 7) : "";
  } catch (const std::exception&) {
    return "";  // a path the original layout does not name
  }
}

tensors::TensorSource ldm_vae_source(const std::string& name, std::size_t levels) {
  const std::vector<std::string> p = split(name);
  if (p[0] == "quant_conv" || p[0] == "post_quant_conv") return {name};
  const std::string& part = p[0];  // encoder or decoder
  if (p[1] == "conv_in" || p[1] == "conv_out") return {name};
  if (p[1] == "conv_norm_out") return {part + ".norm_out." + join(p, 2)};
  if (p[1] == "mid_block") return {part + "." + vae_mid(p, 1)};
  const std::size_t block = std::stoul(p[2]);
  if (p[1] == "down_blocks") {
    if (p[3] == "downsamplers") return {part + ".down." + std::to_string(block) + ".downsample." + join(p, 5)};
    return {part + ".down." + std::to_string(block) + ".block." + p[4] + "." + vae_resnet(join(p, 5))};
  }
  TORCH_CHECK(p[1] == "up_blocks", "unknown VAE tensor ", name);
  // LDM numbers the decoder's levels from the bottom: diffusers' up block i is up.(n-1-i).
  const std::string level = std::to_string(levels - 1 - block);
  if (p[3] == "upsamplers") return {part + ".up." + level + ".upsample." + join(p, 5)};
  return {part + ".up." + level + ".block." + p[4] + "." + vae_resnet(join(p, 5))};
}

tensors::TensorSource ldm_clip_source(const std::string& name, bool has_text_model_prefix) {
  if (has_text_model_prefix) return {name};
  TORCH_CHECK(starts_with(name, "text_model."), "unknown CLIP tensor ", name);
  return {name.substr(11)};
}

tensors::TensorSource open_clip_source(const std::string& name, const CLIPTextConfig& config) {
  if (name == "text_model.embeddings.token_embedding.weight") return {"token_embedding.weight"};
  if (name == "text_model.embeddings.position_embedding.weight") return {"positional_embedding"};
  if (starts_with(name, "text_model.final_layer_norm.")) return {"ln_final." + name.substr(28)};
  // OpenCLIP projects with x @ P; transformers' Linear holds Pᵀ.
  if (name == "text_projection.weight") return {.name = "text_projection", .transposed = true};
  const std::vector<std::string> p = split(name);
  // text_model.encoder.layers.{i}.{...}
  TORCH_CHECK(p.size() >= 6 && p[2] == "layers", "unknown CLIP tensor ", name);
  const std::string block = "transformer.resblocks." + p[3] + ".";
  const std::string rest = join(p, 4);
  const std::int64_t h = config.hidden_size;
  for (int i = 0; i < 3; ++i) {
    const std::string proj = std::string("self_attn.") + "qkv"[i] + "_proj.";
    if (starts_with(rest, proj)) {
      const std::string kind = rest.substr(proj.size());  // weight or bias
      return {block + "attn.in_proj_" + kind, i * h, (i + 1) * h};
    }
  }
  static const std::pair<const char*, const char*> names[] = {{"self_attn.out_proj.", "attn.out_proj."},
                                                              {"layer_norm1.", "ln_1."},
                                                              {"layer_norm2.", "ln_2."},
                                                              {"mlp.fc1.", "mlp.c_fc."},
                                                              {"mlp.fc2.", "mlp.c_proj."}};
  for (const auto& [from, to] : names) {
    if (starts_with(rest, from)) return {block + to + rest.substr(std::string_view(from).size())};
  }
  TORCH_CHECK(false, "unknown CLIP tensor ", name);
}

}  // namespace pawtrait::models
