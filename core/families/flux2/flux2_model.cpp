#include "families/flux2/flux2_model.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "common/error.h"
#include "common/json_file.h"
#include "families/flux2/flux2_latents.h"
#include "families/flux2/flux2_lora_names.h"
#include "families/flux2/flux2_text_encoding.h"
#include "models/component_loader.h"
#include "models/lora.h"
#include "schedulers/flow_match_config.h"
#include "schedulers/noise_process.h"

namespace pawtrait::families {
namespace {

namespace fs = std::filesystem;

fs::path required(const fs::path& file, const std::string& what) {
  if (!fs::exists(file)) {
    throw Error(file.string() + " is missing (" + what + "); a FLUX.2 [klein] folder needs transformer/, vae/, " +
                "text_encoder/, tokenizer/ and scheduler/ as the hub has them: re-download the model");
  }
  return file;
}

class MergedKleinLora : public AppliedLora {
 public:
  MergedKleinLora(Flux2Klein& model, const models::LoraFile& lora, double strength, int& live_merges)
      : merged_({{"transformer", model.transformer.get(), {}}}, lora, strength), live_merges_(live_merges) {
    format = lora.format;
    layers = static_cast<std::int64_t>(merged_.merged_layers());
    ++live_merges_;
  }
  ~MergedKleinLora() override { --live_merges_; }
  MergedKleinLora(const MergedKleinLora&) = delete;
  MergedKleinLora& operator=(const MergedKleinLora&) = delete;

 private:
  models::MergedLora merged_;
  int& live_merges_;
};

}  // namespace

Flux2KleinConfigs read_flux2_klein_configs(const fs::path& folder, const std::vector<std::int64_t>& layers) {
  Flux2KleinConfigs c;
  const fs::path index_file = required(folder / "model_index.json", "the pipeline's index");
  const nlohmann::json index = read_json_file(index_file);
  if (const auto it = index.find("is_distilled"); it != index.end() && !it->is_null()) {
    if (!it->is_boolean()) throw Error(index_file.string() + ": \"is_distilled\" should be true or false");
    c.is_distilled = it->get<bool>();
  }
  const fs::path transformer_file = required(folder / "transformer" / "config.json", "the transformer's config");
  c.transformer = Flux2TransformerConfig::from_json(read_json_file(transformer_file), transformer_file.string());
  c.vae = models::AutoencoderKLConfig::load(required(folder / "vae" / "config.json", "the VAE's config"));
  if (!c.vae.latent_batch_norm) {
    throw Error((folder / "vae" / "config.json").string() +
                ": the VAE is not an AutoencoderKLFlux2 (FLUX.2 normalises latents with its statistics)");
  }
  c.text_encoder = models::Qwen3Config::load(required(folder / "text_encoder" / "config.json", "the text encoder"));
  const fs::path scheduler_file =
      required(folder / "scheduler" / "scheduler_config.json", "the FlowMatchEulerDiscreteScheduler config");
  c.shift = schedulers::flow_shift_from_config(read_json_file(scheduler_file), scheduler_file.string());
  c.text_encoder_layers = layers.empty() ? kTextEncoderLayers : layers;
  for (const std::int64_t layer : c.text_encoder_layers) {
    if (layer < 1 || layer > c.text_encoder.num_hidden_layers) {
      throw Error("text-encoder layer " + std::to_string(layer) + " does not exist: this text encoder has " +
                  std::to_string(c.text_encoder.num_hidden_layers) + " layers; give --text-encoder-layers within 1.." +
                  std::to_string(c.text_encoder.num_hidden_layers));
    }
  }
  const auto width = static_cast<std::int64_t>(c.text_encoder_layers.size()) * c.text_encoder.hidden_size;
  if (width != c.transformer.joint_attention_dim) {
    throw Error("the transformer reads text embeddings " + std::to_string(c.transformer.joint_attention_dim) +
                " wide, but " + std::to_string(c.text_encoder_layers.size()) + " text-encoder layers of " +
                std::to_string(c.text_encoder.hidden_size) + " make " + std::to_string(width) +
                "; give --text-encoder-layers with " +
                std::to_string(c.transformer.joint_attention_dim / c.text_encoder.hidden_size) + " layers");
  }
  if (c.transformer.in_channels != c.vae.patched_latent_channels()) {
    throw Error(transformer_file.string() + ": in_channels is " + std::to_string(c.transformer.in_channels) +
                " but the VAE's patchified latents have " + std::to_string(c.vae.patched_latent_channels()) +
                " channels: the transformer and the VAE are from different models");
  }
  return c;
}

Flux2Klein load_flux2_klein(const fs::path& folder, const LoadOptions& options) {
  if (options.vae) throw Error("--vae is not supported for FLUX.2 [klein]: its VAE carries the latent statistics");
  const Flux2KleinConfigs c = read_flux2_klein_configs(folder, options.text_encoder_layers);
  Flux2Klein m;
  m.source = folder;
  m.shift = c.shift;
  m.is_distilled = c.is_distilled;
  m.text_encoder_layers = c.text_encoder_layers;
  m.tokenizer = std::make_shared<models::TokenizerJson>(models::TokenizerJson::load(folder / "tokenizer"));
  const models::ComponentLoadOptions component{options.dtype, options.device, options.variant, options.log};
  m.text_encoder_options = component;
  m.device = options.device;
  models::ComponentLoadOptions on_cpu = component;
  on_cpu.device = c10::Device(c10::kCPU);
  m.transformer = load_flux2_transformer(folder / "transformer", on_cpu);
  m.vae = models::load_vae(folder / "vae", component);
  log_to(options.log, LogLevel::Info,
         std::string("model: diffusers folder, FLUX.2 [klein] ") + (c.is_distilled ? "distilled" : "base"));
  return m;
}

Flux2KleinModel::Flux2KleinModel(Flux2Klein model) : model_(std::move(model)) {
  latent_format_.channels = model_.transformer->config.in_channels;
  // Patchifying halves the VAE's grid again: 16 for the real model.
  latent_format_.spatial_factor = model_.vae->config.downscale_factor() * 2;
  latent_format_.size_multiple = latent_format_.spatial_factor;
  schedulers::FlowMatchingNoiseProcess::Options process;
  process.num_train_timesteps = model_.shift.num_train_timesteps;
  process.sampling_shift = model_.shift;
  process.mu = [](std::int64_t image_tokens, std::int64_t steps) {
    return schedulers::compute_empirical_mu(image_tokens, steps);
  };
  noise_process_ = std::make_unique<schedulers::FlowMatchingNoiseProcess>(process);
  if (!model_.device.is_cpu()) file_weights_ = models::frozen_tensors(*model_.transformer);
}

void Flux2KleinModel::transformer_to_device() {
  // Every step asks; the weights move together, so one of them tells where all are.
  if (model_.transformer->x_embedder->weight.device() == model_.device) return;
  models::move_frozen(*model_.transformer, model_.device);
}

void Flux2KleinModel::park_transformer() {
  if (model_.device.is_cpu() || model_.transformer->x_embedder->weight.device().is_cpu()) return;
  if (merged_loras_ == 0 && !file_weights_.empty()) {
    models::restore_frozen(*model_.transformer, file_weights_);
  } else {
    models::move_frozen(*model_.transformer, c10::Device(c10::kCPU));
  }
}

std::string Flux2KleinModel::family() const {
  return model_.is_distilled ? "FLUX.2 [klein] distilled" : "FLUX.2 [klein] base";
}

GenerateDefaults Flux2KleinModel::defaults() const {
  return {.sampler = kSampler,
          .steps = model_.is_distilled ? kDistilledSteps : kBaseSteps,
          // default_sample_size 128 latent pixels of the VAE: 1024 for the real model.
          .size = 128 * model_.vae->config.downscale_factor(),
          .size_fixed = false,
          .guidance = model_.is_distilled ? 1.0 : kBaseGuidance};
}

at::TensorOptions Flux2KleinModel::options() const {
  return model_.transformer->x_embedder->weight.options().device(model_.device);
}

Conditioning Flux2KleinModel::encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) {
  // Both are CLIP's settings; taken silently they would promise a picture they do not change.
  if (options.clip_skip > 0) {
    throw Error(
        "--clip-skip is for CLIP text encoders; FLUX.2 [klein] reads the Qwen3 layers --text-encoder-layers "
        "names instead (default 9,18,27)");
  }
  if (options.text_cleanup != models::TextCleanup::Nfc) {
    throw Error(
        "--prompt-cleanup ftfy is for CLIP tokenizers; FLUX.2 [klein]'s tokenizer normalises prompts itself "
        "(NFC): leave it at nfc");
  }
  auto cached = prompt_cache_.find(prompt);
  if (cached == prompt_cache_.end()) {
    const models::PaddedIds padded =
        model_.tokenizer->encode_padded(model_.tokenizer->chat_template().user_prompt(prompt), kMaxSequenceLength);
    if (padded.real_tokens > kMaxSequenceLength) {
      log_to(log, LogLevel::Warning,
             "the prompt and its chat template are " + std::to_string(padded.real_tokens) +
                 " tokens; the text encoder reads " + std::to_string(kMaxSequenceLength) + ", so the end is ignored");
    }
    if (model_.text_encoder.is_empty()) {
      if (!model_.device.is_cpu() && !model_.transformer->x_embedder->weight.device().is_cpu()) {
        log_to(log, LogLevel::Info, "the transformer waits on the CPU while the text encoder runs");
        park_transformer();
      }
      const std::int64_t depth =
          *std::max_element(model_.text_encoder_layers.begin(), model_.text_encoder_layers.end());
      model_.text_encoder =
          models::load_qwen3_text_encoder(model_.source / "text_encoder", depth, model_.text_encoder_options);
    }
    at::Tensor embeds = encode_padded_prompt(model_.text_encoder, padded, model_.text_encoder_layers);
    if (prompt_cache_.size() >= kCachedPrompts) {  // the oldest goes
      prompt_cache_.erase(prompt_order_.front());
      prompt_order_.pop_front();
    }
    cached = prompt_cache_.emplace(prompt, embeds).first;
    prompt_order_.push_back(prompt);
  }
  Conditioning c;
  c.tensors["context"] = cached->second;
  c.tensors["text_ids"] = text_position_ids(cached->second.size(1));
  return c;
}

void Flux2KleinModel::finished_encoding() {
  // On a GPU the transformer needs the memory; on the CPU the weights are memory-mapped and
  // keeping them saves the reload.
  if (!model_.text_encoder.is_empty() && !model_.text_encoder_options.device.is_cpu()) {
    model_.text_encoder = models::Qwen3TextModel(nullptr);
  }
}

at::Tensor Flux2KleinModel::predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) {
  const std::int64_t b = x_t.size(0), h = x_t.size(2), w = x_t.size(3);
  transformer_to_device();
  const at::TensorOptions dtype = options();
  // The pipeline passes timestep = t / 1000 in the latents' dtype; the model multiplies by 1000 again.
  const at::Tensor timestep = t.to(dtype).expand({b}) / 1000;
  const at::Tensor image_ids = flux2_latents::image_position_ids(h, w).to(dtype.device());
  const at::Tensor out =
      model_.transformer->forward(flux2_latents::pack(x_t).to(dtype), conditioning.at("context").to(dtype), timestep,
                                  image_ids, conditioning.at("text_ids").to(dtype.device()));
  return flux2_latents::unpack(out, h, w);
}

at::Tensor Flux2KleinModel::output_latents(const at::Tensor& latents) {
  const at::Tensor& weight = model_.vae->decoder->conv_in->weight;
  return flux2_latents::unpatchify(
      flux2_latents::denormalize(latents.to(weight.device(), weight.scalar_type()), model_.vae));
}

at::Tensor Flux2KleinModel::decode(const at::Tensor& latents) {
  const at::Tensor decoded = model_.vae->decode(output_latents(latents));
  if (!at::isfinite(decoded).all().item<bool>()) {
    throw Error("the VAE decoded non-finite values (an overflow in float16); use --dtype bf16 or fp32");
  }
  return decoded;
}

std::unique_ptr<AppliedLora> Flux2KleinModel::apply_lora(const std::string& path, double strength) {
  // Merged where the weights compute, never into the file's views that parking goes back to.
  transformer_to_device();
  return std::make_unique<MergedKleinLora>(model_, klein_lora_in_diffusers_names(models::load_lora(path)), strength,
                                           merged_loras_);
}

}  // namespace pawtrait::families
