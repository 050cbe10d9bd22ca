#include "families/stable_diffusion/stable_diffusion.h"

#include "common/error.h"
#include "common/json_file.h"
#include "families/model_kinds.h"
#include "models/checkpoint_keys.h"
#include "models/clip_tokenizer_data.h"
#include "models/component_loader.h"
#include "models/vae_file.h"
#include "models/weight_init.h"
#include "tensors/safetensors_reader.h"
#include "tensors/state_dict_loader.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

const tensors::TensorEntry* find(const tensors::SafetensorsHeader& header, const std::string& name) {
  for (const auto& entry : header.tensors) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// Stable Diffusion's scheduler settings (the PNDM/DDIM config SD 1.x and 2.x ship).
schedulers::SchedulerConfig sd_scheduler(const std::string& prediction_type) {
  schedulers::SchedulerConfig s = schedulers::SchedulerConfig::stable_diffusion();
  s.steps_offset = 1;
  s.set_alpha_to_one = false;
  s.clip_sample = false;
  s.prediction_type = prediction_type;
  return s;
}

AutoencoderKLConfig sd_vae(std::int64_t image_size) {
  AutoencoderKLConfig v;
  v.block_out_channels = {128, 256, 512, 512};
  v.layers_per_block = 2;
  v.sample_size = image_size;
  return v;
}

UNet2DConditionConfig sd_unet(bool sd2, std::int64_t image_size) {
  UNet2DConditionConfig u;
  u.sample_size = image_size / 8;
  u.cross_attention_dim = sd2 ? 1024 : 768;
  u.num_attention_heads = sd2 ? std::vector<std::int64_t>{5, 10, 20, 20} : std::vector<std::int64_t>{8, 8, 8, 8};
  u.use_linear_projection = sd2;
  u.upcast_attention = sd2;
  return u;
}

CLIPTextConfig sd_text(bool sd2) {
  CLIPTextConfig t;
  t.hidden_size = sd2 ? 1024 : 768;
  t.intermediate_size = sd2 ? 4096 : 3072;
  // OpenCLIP ViT-H has 24 layers; SD 2.x uses the penultimate one's output, so its text
  // encoder is cut to 23.
  t.num_hidden_layers = sd2 ? 23 : 12;
  t.num_attention_heads = sd2 ? 16 : 12;
  t.hidden_act = sd2 ? "gelu" : "quick_gelu";
  return t;
}

}  // namespace

Architecture detect_single_file_architecture(const tensors::SafetensorsHeader& header, const std::string& source) {
  const auto* proj_in = find(header, std::string(kLdmUnetPrefix) + "input_blocks.1.1.proj_in.weight");
  const auto* to_k =
      find(header, std::string(kLdmUnetPrefix) + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight");
  const auto* conv_in = find(header, std::string(kLdmUnetPrefix) + "input_blocks.0.0.weight");
  const bool sd1_text = find(header, std::string(kLdmClipPrefix) + "text_model.embeddings.token_embedding.weight") ||
                        find(header, std::string(kLdmClipPrefix) + "embeddings.token_embedding.weight");
  const bool sd2_text = find(header, std::string(kLdmOpenClipPrefix) + "token_embedding.weight") != nullptr;
  const auto advice =
      " Pass --model-config with a diffusers-style folder of config files (unet/, vae/, text_encoder/, "
      "scheduler/, tokenizer/) that describes it.";
  std::vector<std::string> names;
  for (const auto& t : header.tensors) names.push_back(t.name);
  families::refuse_unsupported_single_file(names, source);
  if (const auto kind = families::kind_of_single_file(names); kind && kind->name != "Stable Diffusion 1.x/2.x") {
    throw Error(source + " is a " + kind->name +
                " checkpoint (by its tensor names); the Stable Diffusion 1.x/2.x loader cannot read it, and training "
                "it is not supported yet");
  }
  if (proj_in == nullptr || to_k == nullptr || conv_in == nullptr ||
      conv_in->shape != std::vector<std::int64_t>{320, 4, 3, 3}) {
    throw Error(source + " does not have the tensor layout of a standard Stable Diffusion 1.x or 2.x checkpoint." +
                advice);
  }
  const std::int64_t context = to_k->shape.back();
  Architecture a;
  if (context == 768 && proj_in->shape.size() == 4 && sd1_text) {
    a.family = "Stable Diffusion 1.x";
    a.prediction_type = "epsilon";
    a.image_size = 512;
    a.text_encoder_layout = "transformers";
  } else if (context == 1024 && proj_in->shape.size() == 2 && sd2_text) {
    a.family = "Stable Diffusion 2.x";
    a.prediction_type = "v_prediction";
    a.image_size = 768;
    a.text_encoder_layout = "open_clip";
    a.guess =
        "taken as SD 2.x at 768 pixels with v-prediction (2.0-v, 2.1); the 512-pixel epsilon models (2.0-base, "
        "2.1-base) have the same shapes: for one of those pass --model-config with its diffusers folder of configs";
  } else {
    throw Error(source + ": a Stable Diffusion layout with cross-attention width " + std::to_string(context) +
                " and a text encoder Pawtrait does not recognise." + advice);
  }
  const bool sd2 = a.family == "Stable Diffusion 2.x";
  a.unet = sd_unet(sd2, a.image_size);
  a.vae = sd_vae(a.image_size);
  a.text_encoder = sd_text(sd2);
  a.scheduler = sd_scheduler(a.prediction_type);
  return a;
}

Architecture read_folder_architecture(const fs::path& folder) {
  // Generating goes through the model's family; what reaches this loader otherwise (training)
  // is for Stable Diffusion 1.x/2.x alone.
  families::refuse_other_than_sd(folder, "training");
  auto need = [&](const fs::path& file) {
    if (!fs::exists(folder / file)) {
      throw Error((folder / file).string() + " is missing; a model folder needs unet/, vae/ and text_encoder/ configs");
    }
    return folder / file;
  };
  Architecture a;
  a.unet = UNet2DConditionConfig::load(need("unet/config.json"));
  a.vae = AutoencoderKLConfig::load(need("vae/config.json"));
  a.text_encoder = CLIPTextConfig::load(need("text_encoder/config.json"));
  if (fs::exists(folder / "scheduler" / "scheduler_config.json")) {
    a.scheduler = schedulers::SchedulerConfig::load(folder / "scheduler" / "scheduler_config.json");
  }
  a.prediction_type = a.scheduler.prediction_type.value_or("epsilon");
  a.image_size = a.unet.sample_size * a.vae.downscale_factor();
  if (a.unet.cross_attention_dim == 768 && a.text_encoder.hidden_size == 768) {
    a.family = "Stable Diffusion 1.x";
  } else if (a.unet.cross_attention_dim == 1024 && a.text_encoder.hidden_size == 1024) {
    a.family = "Stable Diffusion 2.x";
  } else {
    a.family = "custom (cross-attention width " + std::to_string(a.unet.cross_attention_dim) + ")";
  }
  return a;
}

Architecture detect_architecture(const fs::path& path, const std::optional<fs::path>& model_config) {
  if (fs::is_directory(path)) return read_folder_architecture(path);
  if (model_config) return read_folder_architecture(*model_config);
  const tensors::SafetensorsFile file = tensors::SafetensorsFile::open(path);
  tensors::SafetensorsHeader header;
  header.tensors = file.entries();
  return detect_single_file_architecture(header, path.string());
}

StableDiffusion load_stable_diffusion(const fs::path& path, const StableDiffusionOptions& options) {
  std::error_code error;
  if (!fs::exists(path, error)) throw Error(path.string() + ": no such file or folder");
  StableDiffusion sd;
  sd.source = path;
  ComponentLoadOptions component{options.dtype, options.device, options.variant, options.log};

  if (fs::is_directory(path)) {
    sd.architecture = read_folder_architecture(path);
    sd.unet = load_unet(path / "unet", component);
    sd.vae = options.vae ? load_vae_file(*options.vae, vae_file_config(*options.vae, sd.architecture.vae), component)
                         : load_vae(path / "vae", component);
    sd.text_encoder = load_text_encoder(path / "text_encoder", component);
    if (fs::exists(path / "tokenizer" / "vocab.json")) sd.tokenizer_dir = path / "tokenizer";
    log_to(options.log, LogLevel::Info, "model: diffusers folder, " + sd.architecture.family);
    return sd;
  }

  const std::string ext = path.extension().string();
  if (ext == ".ckpt" || ext == ".pt" || ext == ".pth" || ext == ".bin") {
    throw Error(path.string() +
                " is a pickle checkpoint. Pickle files can run arbitrary code when opened, so Pawtrait "
                "does not load them; download the model's .safetensors version instead (most models publish one)");
  }
  std::vector<tensors::SafetensorsFile> file;
  file.push_back(tensors::SafetensorsFile::open(path));
  const tensors::SafetensorsFile& checkpoint = file.front();

  if (options.model_config) {
    sd.architecture = read_folder_architecture(*options.model_config);
    sd.architecture.text_encoder_layout =
        checkpoint.contains(std::string(kLdmOpenClipPrefix) + "token_embedding.weight") ? "open_clip" : "transformers";
    if (fs::exists(*options.model_config / "tokenizer" / "vocab.json")) {
      sd.tokenizer_dir = *options.model_config / "tokenizer";
    }
  } else {
    tensors::SafetensorsHeader header;
    header.tensors = checkpoint.entries();
    sd.architecture = detect_single_file_architecture(header, path.string());
  }
  const Architecture& a = sd.architecture;
  log_to(options.log, LogLevel::Info, "model: single-file checkpoint, " + a.family + ", " + a.prediction_type);
  if (!a.guess.empty()) log_to(options.log, LogLevel::Warning, "model: " + a.guess);

  auto load = [&](torch::nn::Module& module, const char* name, const std::string& prefix,
                  std::function<tensors::TensorSource(const std::string&)> source_for) {
    fill_from_checkpoint(module, file, {name, prefix, std::move(source_for)}, component);
  };

  SkipWeightInit loaded_next;  // every weight comes from the file (strict load)
  sd.unet = UNet2DConditionModel(a.unet);
  load(*sd.unet, "unet", kLdmUnetPrefix,
       [config = a.unet](const std::string& name) { return ldm_unet_source(name, config); });
  if (options.vae) {
    sd.vae = load_vae_file(*options.vae, vae_file_config(*options.vae, a.vae), component);
  } else {
    sd.vae = AutoencoderKL(a.vae);
    load(*sd.vae, "vae", kLdmVaePrefix,
         [levels = a.vae.block_out_channels.size()](const std::string& name) { return ldm_vae_source(name, levels); });
  }
  sd.text_encoder = CLIPTextModel(a.text_encoder);
  if (a.text_encoder_layout == "open_clip") {
    load(*sd.text_encoder, "text_encoder", kLdmOpenClipPrefix,
         [config = a.text_encoder](const std::string& name) { return open_clip_source(name, config); });
  } else {
    const bool with_text_model =
        checkpoint.contains(std::string(kLdmClipPrefix) + "text_model.embeddings.token_embedding.weight");
    load(*sd.text_encoder, "text_encoder", kLdmClipPrefix,
         [with_text_model](const std::string& name) { return ldm_clip_source(name, with_text_model); });
  }
  return sd;
}

ClipTokenizer load_tokenizer(const StableDiffusion& model) {
  if (model.tokenizer_dir) return ClipTokenizer::load(*model.tokenizer_dir);
  return packaged_clip_tokenizer(model.architecture.text_encoder_layout == "open_clip" ? "!" : "<|endoftext|>");
}

}  // namespace pawtrait::models
