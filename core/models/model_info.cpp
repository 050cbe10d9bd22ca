#include "models/model_info.h"

#include <algorithm>
#include <sstream>

#include "common/error.h"
#include "common/json_file.h"
#include "common/mapped_file.h"
#include "families/model_kinds.h"
#include "tensors/safetensors_header.h"
#include "tensors/weight_files.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Adds one safetensors file's tensors to a component (or to several, by key prefix).
void count_tensors(const tensors::SafetensorsHeader& header, ComponentInfo& component) {
  for (const auto& entry : header.tensors) {
    ++component.tensors;
    // A batch norm's running statistics are buffers, not parameters (FLUX.2's VAE has them).
    const bool statistics = entry.name.ends_with(".running_mean") || entry.name.ends_with(".running_var");
    if (tensors::is_floating(entry.dtype) && !statistics) {
      component.parameters += entry.numel();
      component.dtypes[std::string(tensors::dtype_name(entry.dtype))] += entry.numel();
    } else {
      component.other_elements += entry.numel();
    }
  }
}

std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string family_from_cross_attention(std::int64_t dim) {
  switch (dim) {
    case 768:
      return "Stable Diffusion 1.x";
    case 1024:
      return "Stable Diffusion 2.x";
    case 2048:
      return "Stable Diffusion XL";
    default:
      return "custom size (UNet cross_attention_dim " + std::to_string(dim) + ")";
  }
}

ModelInfo inspect_folder(const fs::path& folder) {
  ModelInfo info;
  info.path = folder.string();
  info.format = "diffusers folder";
  const fs::path index_file = folder / "model_index.json";
  if (!fs::exists(index_file)) {
    throw Error(folder.string() +
                " is not a diffusers model folder (no model_index.json); "
                "give the folder that holds model_index.json, unet/ and vae/, or a .safetensors file");
  }
  json index = read_json_file(index_file);
  if (!index.is_object()) throw Error(index_file.string() + ": expected a JSON object");

  for (auto it = index.begin(); it != index.end(); ++it) {
    const json& value = it.value();
    if (it.key().starts_with("_") || !value.is_array() || value.size() != 2 || !value[0].is_string() ||
        !value[1].is_string()) {
      continue;  // settings such as requires_safety_checker, or absent components [null, null]
    }
    ComponentInfo component;
    component.name = it.key();
    component.library = value[0].get<std::string>();
    component.class_name = value[1].get<std::string>();
    const fs::path dir = folder / component.name;
    if (!fs::is_directory(dir)) {
      component.note = "folder " + component.name + "/ is missing";
    } else if (component.name == "scheduler") {
      const fs::path config = dir / "scheduler_config.json";
      if (fs::exists(config)) {
        info.scheduler_config = read_json_file(config);
        component.files.push_back("scheduler/scheduler_config.json");
      } else {
        component.note = "scheduler_config.json is missing";
      }
    } else if (component.name.starts_with("tokenizer") && fs::exists(dir / "tokenizer.json")) {
      // What Pawtrait reads for a byte-level BPE other than CLIP's (Qwen3's): the one file.
      component.files.push_back(component.name + "/tokenizer.json");
      try {
        const json tokenizer = read_json_file(dir / "tokenizer.json");
        const auto vocab = tokenizer.at("model").at("vocab").size();
        std::size_t added = 0;
        for (const auto& token : tokenizer.value("added_tokens", json::array())) {
          if (!tokenizer["model"]["vocab"].contains(token.value("content", ""))) ++added;
        }
        component.note = "vocabulary of " + with_thousands(static_cast<std::int64_t>(vocab)) + " tokens" +
                         (added > 0 ? " and " + with_thousands(static_cast<std::int64_t>(added)) + " added" : "");
      } catch (const std::exception& e) {
        component.note = std::string("tokenizer.json is unreadable: ") + e.what();
      }
    } else if (component.name.starts_with("tokenizer")) {
      for (const char* file : {"vocab.json", "merges.txt"}) {
        if (fs::exists(dir / file)) {
          component.files.push_back(component.name + "/" + file);
        } else {
          component.note = std::string(file) + " is missing";
        }
      }
      if (fs::exists(dir / "vocab.json")) {
        json vocab = read_json_file(dir / "vocab.json");
        component.note = "vocabulary of " + with_thousands(static_cast<std::int64_t>(vocab.size())) + " tokens";
      }
    } else if (component.library == "diffusers" || component.library == "transformers") {
      try {
        for (const fs::path& file : tensors::find_weight_files(dir)) {
          MappedFile mapping(file);
          count_tensors(tensors::parse_safetensors_header(mapping.bytes(), file.string()), component);
          component.bytes += mapping.size();
          component.files.push_back(fs::relative(file, folder).string());
        }
      } catch (const Error& e) {
        component.note = e.what();
      }
      if (component.name == "unet" && fs::exists(dir / "config.json")) {
        json config = read_json_file(dir / "config.json");
        if (config.contains("cross_attention_dim") && config["cross_attention_dim"].is_number_integer()) {
          info.family = family_from_cross_attention(config["cross_attention_dim"].get<std::int64_t>());
        }
      }
    }
    info.components.push_back(std::move(component));
  }
  // A kind that model_index.json names is said by name (SD 1.x/2.x by its widths, above).
  if (const auto kind = families::kind_of_model(folder); kind && kind->name != "Stable Diffusion 1.x/2.x") {
    info.family = kind->supported ? kind->name : kind->name + " (not supported yet)";
  }
  if (info.family.empty()) info.family = "unknown (no UNet config)";
  return info;
}

struct PrefixRule {
  const char* prefix;
  const char* component;
  const char* class_name;
};

// The original (CompVis/LDM and Stability) key layout of single-file checkpoints.
constexpr PrefixRule kSingleFileParts[] = {
    {"model.diffusion_model.", "unet", "UNet (LDM keys)"},
    {"first_stage_model.", "vae", "AutoencoderKL (LDM keys)"},
    {"cond_stage_model.transformer.", "text_encoder", "CLIP text model (SD 1.x)"},
    {"cond_stage_model.model.", "text_encoder", "OpenCLIP text model (SD 2.x)"},
    {"conditioner.embedders.0.", "text_encoder", "CLIP ViT-L text model (SDXL)"},
    {"conditioner.embedders.1.", "text_encoder_2", "OpenCLIP bigG text model (SDXL)"},
    {"model_ema.", "ema", "EMA copy of the UNet"},
};

// kohya/A1111 ("lora_unet_…", with ".alpha" entries), diffusers/PEFT ("….lora_A.weight")
// and older diffusers ("….lora.down.weight") spellings.
bool is_lora_key(const std::string& key) {
  if (key.starts_with("lora_unet_") || key.starts_with("lora_te")) return true;
  for (const char* marker : {".lora_A.", ".lora_B.", ".lora_down.", ".lora_up.", ".lora.down.", ".lora.up."}) {
    if (key.find(marker) != std::string::npos) return true;
  }
  return false;
}

ModelInfo inspect_file(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".ckpt" || ext == ".pt" || ext == ".pth" || ext == ".bin") {
    throw Error(file.string() +
                " is a pickle file, which can run code when opened; Pawtrait does not load pickles. "
                "Use the model's .safetensors version instead");
  }
  MappedFile mapping(file);
  tensors::SafetensorsHeader header = tensors::parse_safetensors_header(mapping.bytes(), file.string());

  ModelInfo info;
  info.path = file.string();
  info.metadata = header.metadata;
  const std::string filename = file.filename().string();

  bool lora = !header.tensors.empty();
  for (const auto& entry : header.tensors) lora = lora && is_lora_key(entry.name);
  if (lora) {
    info.format = "LoRA";
    ComponentInfo component{.name = "lora", .class_name = "LoRA adapter"};
    count_tensors(header, component);
    component.bytes = mapping.size();
    component.files.push_back(filename);
    const std::string& first = header.tensors.front().name;
    const bool kohya = first.starts_with("lora_");
    // FLUX's original module names behind diffusion_model. (ComfyUI, ai-toolkit), or PEFT's prefix.
    const bool original = first.starts_with("diffusion_model.") || first.starts_with("base_model.model.");
    info.family = kohya      ? "kohya/A1111 key names"
                  : original ? "Black Forest Labs key names (FLUX, as ComfyUI and ai-toolkit write them)"
                             : "diffusers/PEFT key names";
    info.components.push_back(std::move(component));
    return info;
  }

  std::vector<ComponentInfo> parts;
  ComponentInfo other{.name = "other", .class_name = "tensors outside the known layout"};
  for (const auto& entry : header.tensors) {
    ComponentInfo* target = &other;
    for (const PrefixRule& rule : kSingleFileParts) {
      if (!entry.name.starts_with(rule.prefix)) continue;
      auto it =
          std::find_if(parts.begin(), parts.end(), [&](const ComponentInfo& c) { return c.name == rule.component; });
      if (it == parts.end()) {
        parts.push_back(ComponentInfo{.name = rule.component, .class_name = rule.class_name});
        it = parts.end() - 1;
      }
      target = &*it;
      break;
    }
    tensors::SafetensorsHeader one;
    one.tensors.push_back(entry);
    count_tensors(one, *target);
    target->bytes += entry.byte_size();
  }
  const bool has_unet =
      std::any_of(parts.begin(), parts.end(), [](const ComponentInfo& c) { return c.name == "unet"; });
  if (has_unet) {
    info.format = "single-file checkpoint";
    auto has_prefix = [&](std::string_view prefix) {
      return std::any_of(header.tensors.begin(), header.tensors.end(),
                         [&](const auto& e) { return e.name.starts_with(prefix); });
    };
    std::vector<std::string> names;
    for (const auto& entry : header.tensors) names.push_back(entry.name);
    const auto kind = families::kind_of_single_file(names);
    if (kind && !kind->supported) {
      info.family = kind->name + " (not supported yet)";
    } else if (kind && kind->name != "Stable Diffusion 1.x/2.x") {
      info.family = kind->name;
    } else if (has_prefix("cond_stage_model.model.")) {
      info.family = "Stable Diffusion 2.x";
    } else if (has_prefix("cond_stage_model.transformer.")) {
      info.family = "Stable Diffusion 1.x layout";
    } else {
      info.family = "unknown (no text encoder inside)";
    }
  } else {
    info.format = "safetensors file";
    info.family = "not a Stable Diffusion checkpoint";
  }
  if (other.tensors > 0) parts.push_back(std::move(other));
  for (auto& part : parts) part.files.push_back(filename);
  info.components = std::move(parts);
  return info;
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  std::ostringstream out;
  out.precision(unit == 0 ? 0 : 1);
  out << std::fixed << value << ' ' << units[unit];
  return out.str();
}

}  // namespace

ModelInfo inspect_model(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) throw Error(path.string() + ": no such file or folder");
  if (fs::is_directory(path)) return inspect_folder(path);
  return inspect_file(path);
}

json to_json(const ModelInfo& info) {
  json components = json::array();
  for (const auto& c : info.components) {
    json item = {{"name", c.name},       {"class", c.class_name}, {"files", c.files},  {"parameters", c.parameters},
                 {"tensors", c.tensors}, {"bytes", c.bytes},      {"dtypes", c.dtypes}};
    if (!c.library.empty()) item["library"] = c.library;
    if (c.other_elements > 0) item["other_elements"] = c.other_elements;
    if (!c.note.empty()) item["note"] = c.note;
    components.push_back(std::move(item));
  }
  json out = {{"path", info.path}, {"format", info.format}, {"family", info.family}, {"components", components}};
  if (!info.scheduler_config.is_null()) out["scheduler"] = info.scheduler_config;
  if (!info.metadata.empty()) out["metadata"] = info.metadata;
  return out;
}

std::string format_model_info(const ModelInfo& info) {
  std::ostringstream out;
  out << info.path << "\n  format: " << info.format << "\n  model:  " << info.family << "\n\n";
  std::int64_t total = 0;
  for (const auto& c : info.components) {
    out << "  " << c.name;
    out << std::string(c.name.size() < 14 ? 14 - c.name.size() : 1, ' ') << c.class_name << '\n';
    if (c.tensors > 0) {
      std::string dtypes;
      for (const auto& [dtype, count] : c.dtypes) dtypes += (dtypes.empty() ? "" : "+") + dtype;
      out << "                " << with_thousands(c.parameters) << " parameters in " << c.tensors << " tensors, "
          << (dtypes.empty() ? "no floating-point tensors" : dtypes) << ", " << human_bytes(c.bytes) << '\n';
      total += c.parameters;
    }
    if (!c.note.empty()) out << "                " << c.note << '\n';
  }
  out << "\n  total: " << with_thousands(total) << " parameters\n";
  if (info.scheduler_config.is_object()) {
    out << "\n  scheduler config:\n";
    for (auto it = info.scheduler_config.begin(); it != info.scheduler_config.end(); ++it) {
      if (it.key().starts_with("_") && it.key() != "_class_name") continue;
      out << "    " << it.key() << " = " << it.value().dump() << '\n';
    }
  }
  for (const auto& [key, value] : info.metadata) {
    out << "  metadata " << key << ": " << (value.size() > 200 ? value.substr(0, 200) + "..." : value) << '\n';
  }
  return out.str();
}

}  // namespace pawtrait::models
