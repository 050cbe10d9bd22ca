#include "models/component_loader.h"

#include <c10/util/Exception.h>

#include <string_view>

#include "common/error.h"
#include "models/qwen3_text.h"
#include "models/weight_init.h"
#include "tensors/safetensors_reader.h"
#include "tensors/state_dict_loader.h"
#include "tensors/weight_files.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

fs::path config_of(const fs::path& dir) {
  const fs::path config = dir / "config.json";
  if (!fs::exists(config)) {
    throw Error(dir.string() + " has no config.json; is it a component folder of a diffusers model?");
  }
  return config;
}

using SourceFor = std::function<tensors::TensorSource(const std::string&)>;

// `left_on_disk` says which of the files' tensors are not wanted (a text encoder built only
// as deep as it is read): they are not reported as unused.
void fill(torch::nn::Module& module, const fs::path& dir, const ComponentLoadOptions& options,
          const SourceFor& source_for, const std::function<bool(const std::string&)>& left_on_disk = {}) {
  tensors::LoadOptions load;
  load.dtype = options.dtype;
  load.device = options.device;
  load.source_for = source_for;
  const auto files = tensors::find_weight_files(dir, options.variant);
  try {
    tensors::LoadReport report = tensors::load_state_dict(module, files, load);
    log_to(options.log, LogLevel::Info,
           dir.filename().string() + ": loaded " + std::to_string(report.loaded) + " tensors from " +
               std::to_string(files.size()) + " file(s) as " + c10::toString(options.dtype) + " on " +
               options.device.str());
    if (left_on_disk) std::erase_if(report.unexpected, left_on_disk);
    if (!report.unexpected.empty())
      log_to(options.log, LogLevel::Info, dir.filename().string() + ": " + report.describe());
  } catch (const Error& e) {
    throw Error(dir.filename().string() + ": " + e.what());
  }
}

// Builds the component from its config without initialising any weight (the load is
// strict: every one comes from the files), then fills it.
template <typename Module, typename Config, typename Build>
Module load_built(const fs::path& dir, const ComponentLoadOptions& options, const Build& build,
                  const SourceFor& source_for = {}, const std::function<bool(const std::string&)>& left_on_disk = {}) {
  const Config config = Config::load(config_of(dir));
  Module module{nullptr};
  try {
    SkipWeightInit loaded_next;
    module = build(config);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // LibTorch refuses a layer the config's sizes make impossible (or too large to allocate).
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    throw Error((dir / "config.json").string() + " describes a model that cannot be built: " +
                (torch_error != nullptr ? torch_error->what_without_backtrace() : e.what()));
  }
  fill(*module, dir, options, source_for, left_on_disk);
  module->eval();
  return module;
}

template <typename Module, typename Config>
Module load_component(const fs::path& dir, const ComponentLoadOptions& options, const SourceFor& source_for = {}) {
  return load_built<Module, Config>(
      dir, options, [](const Config& config) { return Module(config); }, source_for);
}

}  // namespace

UNet2DConditionModel load_unet(const fs::path& dir, const ComponentLoadOptions& options) {
  return load_component<UNet2DConditionModel, UNet2DConditionConfig>(dir, options);
}

AutoencoderKL load_vae(const fs::path& dir, const ComponentLoadOptions& options) {
  return load_component<AutoencoderKL, AutoencoderKLConfig>(dir, options);
}

CLIPTextModel load_text_encoder(const fs::path& dir, const ComponentLoadOptions& options) {
  // transformers 5.6 and later save CLIPTextModel without its "text_model." prefix
  // (CLIPTextModelWithProjection keeps it); both layouts load.
  bool flattened = false;
  for (const fs::path& file : tensors::find_weight_files(dir, options.variant)) {
    const auto weights = tensors::SafetensorsFile::open(file);
    if (weights.contains("text_model.embeddings.token_embedding.weight"))
      return load_component<CLIPTextModel, CLIPTextConfig>(dir, options);
    flattened = flattened || weights.contains("embeddings.token_embedding.weight");
  }
  if (!flattened) return load_component<CLIPTextModel, CLIPTextConfig>(dir, options);
  return load_component<CLIPTextModel, CLIPTextConfig>(dir, options, [](const std::string& name) {
    constexpr std::string_view prefix = "text_model.";
    return tensors::TensorSource{name.starts_with(prefix) ? name.substr(prefix.size()) : name};
  });
}

Qwen3TextModel load_qwen3_text_encoder(const fs::path& dir, std::int64_t depth, const ComponentLoadOptions& options) {
  std::int64_t layers = 0;
  Qwen3TextModel model = load_built<Qwen3TextModel, Qwen3Config>(
      dir, options,
      [&](const Qwen3Config& config) {
        if (depth > config.num_hidden_layers) {
          throw Error("text-encoder layer " + std::to_string(depth) + " was asked for, but " +
                      (dir / "config.json").string() + " has " + std::to_string(config.num_hidden_layers) +
                      " layers; give --text-encoder-layers within 1.." + std::to_string(config.num_hidden_layers));
        }
        layers = config.num_hidden_layers;
        return Qwen3TextModel(config, depth);
      },
      {},
      [depth](const std::string& name) {
        // The layers below the deepest one read, and the LM head a text encoder never uses.
        if (name.starts_with("lm_head.")) return true;
        constexpr std::string_view prefix = "model.layers.";
        if (!name.starts_with(prefix)) return false;
        std::int64_t layer = 0;
        std::size_t i = prefix.size();
        if (i >= name.size() || name[i] < '0' || name[i] > '9') return false;
        for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && layer < (1 << 20); ++i) {
          layer = layer * 10 + (name[i] - '0');
        }
        return layer >= depth;
      });
  if (depth < layers) {
    log_to(options.log, LogLevel::Info,
           dir.filename().string() + ": layers " + std::to_string(depth + 1) + "-" + std::to_string(layers) +
               " left on disk (the prompt embedding reads up to layer " + std::to_string(depth) + ")");
  }
  return model;
}

void fill_component(torch::nn::Module& module, const fs::path& dir, const ComponentLoadOptions& options) {
  fill(module, dir, options, {});
  module.eval();
}

void fill_from_checkpoint(torch::nn::Module& module, const std::vector<tensors::SafetensorsFile>& checkpoint,
                          const CheckpointPart& part, const ComponentLoadOptions& options) {
  tensors::LoadOptions load;
  load.prefix = part.prefix;
  load.source_for = part.source_for;
  load.dtype = options.dtype;
  load.device = options.device;
  try {
    const tensors::LoadReport report = tensors::load_state_dict(module, checkpoint, load);
    log_to(options.log, LogLevel::Info, part.component + ": loaded " + std::to_string(report.loaded) + " tensors");
    if (!report.unexpected.empty()) log_to(options.log, LogLevel::Info, part.component + ": " + report.describe());
  } catch (const Error& e) {
    throw Error(part.component + ": " + e.what());
  }
  module.eval();
}

}  // namespace pawtrait::models
