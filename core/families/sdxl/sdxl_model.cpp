#include "families/sdxl/sdxl_model.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/json_file.h"
#include "families/sdxl/sdxl_configs.h"
#include "families/sdxl/sdxl_lora.h"
#include "families/sdxl/sdxl_single_file.h"
#include "models/autoencoder_kl_config.h"
#include "models/checkpoint_keys.h"
#include "models/clip_text_config.h"
#include "models/clip_tokenizer_data.h"
#include "models/component_loader.h"
#include "models/unet2d_condition_config.h"
#include "models/vae_file.h"
#include "models/weight_init.h"
#include "tensors/safetensors_reader.h"

namespace pawtrait::families {
namespace {

namespace fs = std::filesystem;

// hidden_states[index] counted from the end (-2: the penultimate layer's output).
at::Tensor from_end(const models::CLIPTextOutput& out, std::int64_t index) {
  const auto n = static_cast<std::int64_t>(out.hidden_states.size());
  if (-index > n) throw Error("clip_skip is too large for this text encoder");
  return out.hidden_states[static_cast<std::size_t>(n + index)];
}

// The modules' holder with everything but the weights.
StableDiffusionXL from_configs(const fs::path& source, const SdxlConfigs& c) {
  StableDiffusionXL m;
  m.source = source;
  m.tokenizer = c.tokenizer;
  m.tokenizer_2 = c.tokenizer_2;
  m.scheduler = c.scheduler;
  m.force_zeros_for_empty_prompt = c.force_zeros_for_empty_prompt;
  return m;
}

// SDXL's VAE overflows in float16 (black or NaN pictures); its config says so.
models::ComponentLoadOptions vae_options(models::ComponentLoadOptions options, const models::AutoencoderKLConfig& vae) {
  if (options.dtype == c10::kHalf && vae.force_upcast) options.dtype = c10::kFloat;
  return options;
}

// The VAE given instead of the model's own (--vae), with its own config where it has one.
models::AutoencoderKL load_vae_override(const fs::path& path, const models::AutoencoderKLConfig& model_vae,
                                        const models::ComponentLoadOptions& component) {
  const models::AutoencoderKLConfig config = models::vae_file_config(path, model_vae);
  models::AutoencoderKL vae = models::load_vae_file(path, config, vae_options(component, config));
  log_to(component.log, LogLevel::Info, "vae: " + path.string() + " instead of the model's own");
  return vae;
}

StableDiffusionXL load_folder(const fs::path& folder, const LoadOptions& options) {
  // The configs agree with each other before any weight is read (gigabytes, on a real model).
  const SdxlConfigs c = read_sdxl_configs(folder, options.log);
  StableDiffusionXL m = from_configs(folder, c);
  const models::ComponentLoadOptions component{options.dtype, options.device, options.variant, options.log};
  m.unet = models::load_unet(folder / "unet", component);
  m.vae = options.vae ? load_vae_override(*options.vae, c.vae, component)
                      : models::load_vae(folder / "vae", vae_options(component, c.vae));
  m.text_encoder = models::load_text_encoder(folder / "text_encoder", component);
  m.text_encoder_2 = models::load_text_encoder(folder / "text_encoder_2", component);
  log_to(options.log, LogLevel::Info, "model: diffusers folder, Stable Diffusion XL");
  return m;
}

StableDiffusionXL load_single_file(const fs::path& path, const LoadOptions& options) {
  std::vector<tensors::SafetensorsFile> file;
  file.push_back(tensors::SafetensorsFile::open(path));
  SdxlConfigs c;
  if (options.model_config) {
    c = read_sdxl_configs(*options.model_config, options.log);
  } else {
    c = detect_sdxl_single_file(file.front());
    c.tokenizer = std::make_shared<models::ClipTokenizer>(models::packaged_clip_tokenizer());
    c.tokenizer_2 = std::make_shared<models::ClipTokenizer>(models::packaged_clip_tokenizer("!"));
  }
  StableDiffusionXL m = from_configs(path, c);
  log_to(options.log, LogLevel::Info,
         "model: single-file checkpoint, Stable Diffusion XL, " + c.scheduler.prediction_type.value_or("epsilon") +
             (options.model_config ? ", configs from " + options.model_config->string() : ""));

  const models::ComponentLoadOptions component{options.dtype, options.device, {}, options.log};
  const bool hub_names =
      file.front().contains(std::string(kSgmTextEncoderPrefix) + "text_model.embeddings.token_embedding.weight");
  models::SkipWeightInit loaded_next;  // every weight comes from the file (strict load)
  m.unet = models::UNet2DConditionModel(c.unet);
  models::fill_from_checkpoint(
      *m.unet, file,
      {"unet", models::kLdmUnetPrefix,
       [config = c.unet](const std::string& name) { return models::ldm_unet_source(name, config); }},
      component);
  if (options.vae) {
    m.vae = load_vae_override(*options.vae, c.vae, component);
  } else {
    m.vae = models::AutoencoderKL(c.vae);
    models::fill_from_checkpoint(*m.vae, file,
                                 {"vae", models::kLdmVaePrefix,
                                  [levels = c.vae.block_out_channels.size()](const std::string& name) {
                                    return models::ldm_vae_source(name, levels);
                                  }},
                                 vae_options(component, c.vae));
  }
  m.text_encoder = models::CLIPTextModel(c.text_encoder);
  models::fill_from_checkpoint(
      *m.text_encoder, file,
      {"text_encoder", kSgmTextEncoderPrefix,
       [hub_names](const std::string& name) { return models::ldm_clip_source(name, hub_names); }},
      component);
  m.text_encoder_2 = models::CLIPTextModel(c.text_encoder_2);
  models::fill_from_checkpoint(
      *m.text_encoder_2, file,
      {"text_encoder_2", kSgmTextEncoder2Prefix,
       [config = c.text_encoder_2](const std::string& name) { return models::open_clip_source(name, config); }},
      component);
  return m;
}

}  // namespace

StableDiffusionXL load_sdxl(const fs::path& path, const LoadOptions& options) {
  std::error_code error;
  if (fs::is_directory(path, error)) return load_folder(path, options);
  return load_single_file(path, options);
}

StableDiffusionXLModel::StableDiffusionXLModel(StableDiffusionXL model)
    : model_(std::move(model)), noise_process_(model_.scheduler) {
  const models::AutoencoderKLConfig& vae = model_.vae->config;
  latent_format_.channels = model_.unet->config.in_channels;
  latent_format_.spatial_factor = vae.downscale_factor();
  latent_format_.size_multiple = std::max<std::int64_t>(8, latent_format_.spatial_factor);
  latent_format_.scaling_factor = vae.scaling_factor;
}

GenerateDefaults StableDiffusionXLModel::defaults() const {
  return {.sampler = kSampler,
          .steps = kSteps,
          .size = model_.unet->config.sample_size * latent_format_.spatial_factor,
          .size_fixed = false};
}

at::TensorOptions StableDiffusionXLModel::options() const { return model_.unet->conv_in->weight.options(); }

Conditioning StableDiffusionXLModel::encode(const std::string& prompt, const PromptOptions& options,
                                            const LogSink& log) {
  if (const std::string warning = model_.tokenizer->truncation_warning(prompt, options.text_cleanup);
      !warning.empty()) {
    log_to(log, LogLevel::Warning, warning);
  }
  auto ids = [&](const models::ClipTokenizer& tokenizer, const models::CLIPTextModel& encoder) {
    return at::tensor(tokenizer(prompt, options.text_cleanup), at::kLong)
        .view({1, -1})
        .to(encoder->text_model->embeddings->token_embedding->weight.device());
  };
  const models::CLIPTextOutput one = model_.text_encoder->forward(ids(*model_.tokenizer, model_.text_encoder), 0, true);
  const models::CLIPTextOutput two =
      model_.text_encoder_2->forward(ids(*model_.tokenizer_2, model_.text_encoder_2), 0, true);
  // The penultimate states without the final norm; clip_skip goes further back, for the
  // prompt only: the reference's negative branch always takes hidden_states[-2].
  const std::int64_t index = options.negative ? -2 : -(options.clip_skip + 2);
  Conditioning c;
  c.tensors["context"] =
      at::cat({from_end(one, index), from_end(two, index).to(from_end(one, index).scalar_type())}, -1);
  c.tensors["pooled"] = two.text_embeds;
  return c;
}

Conditioning StableDiffusionXLModel::unconditional(const PromptOptions& options, const LogSink& log) {
  Conditioning c = encode("", options, log);
  if (!model_.force_zeros_for_empty_prompt) return c;
  for (auto& [name, tensor] : c.tensors) tensor = at::zeros_like(tensor);
  return c;
}

void StableDiffusionXLModel::condition_on_size(Conditioning& conditioning, const SizeConditioning& sizes,
                                               std::int64_t height, std::int64_t width) const {
  const std::array<std::int64_t, 2> drawn{height, width};
  const auto original = sizes.original_size.value_or(drawn);
  const auto crop = sizes.crop_top_left.value_or(std::array<std::int64_t, 2>{0, 0});
  const auto target = sizes.target_size.value_or(drawn);
  std::vector<double> ids;
  for (const auto& pair : {original, crop, target}) {
    ids.push_back(static_cast<double>(pair[0]));
    ids.push_back(static_cast<double>(pair[1]));
  }
  conditioning.tensors["time_ids"] = at::tensor(ids, at::kFloat).view({1, 6});
}

at::Tensor StableDiffusionXLModel::predict(const at::Tensor& x_t, const at::Tensor& t,
                                           const Conditioning& conditioning) {
  const at::Tensor& pooled = conditioning.at("pooled");
  at::Tensor time_ids;
  if (const auto it = conditioning.tensors.find("time_ids"); it != conditioning.tensors.end()) {
    time_ids = it->second.to(pooled.options());
    if (conditioning.guidance_halves) {
      // The reference pipeline lays the size ids out as cat([negative, positive]).repeat(n),
      // i.e. rows negative, positive, negative, ..., while the embeddings are in halves; with
      // n > 1 and negative ids unlike the positive ones, rows get the other branch's ids.
      // Reproduced so that pictures match it.
      const std::int64_t n = time_ids.size(0) / 2;
      time_ids = at::stack({time_ids[0], time_ids[n]}).repeat({n, 1});
    }
  } else {
    // No size given: the pipeline's defaults for every row, the size drawn and no crop.
    const double h = static_cast<double>(x_t.size(2) * latent_format_.spatial_factor);
    const double w = static_cast<double>(x_t.size(3) * latent_format_.spatial_factor);
    time_ids = at::tensor({h, w, 0.0, 0.0, h, w}, pooled.options()).view({1, 6}).expand({x_t.size(0), 6});
  }
  return model_.unet->forward(x_t, t, conditioning.at("context"), pooled, time_ids);
}

at::Tensor StableDiffusionXLModel::decode(const at::Tensor& latents) {
  const at::Tensor& weight = model_.vae->post_quant_conv->weight;
  const at::Tensor decoded =
      model_.vae->decode((latents / latent_format_.scaling_factor).to(weight.device(), weight.scalar_type()));
  if (!at::isfinite(decoded).all().item<bool>()) {
    throw Error(
        "the VAE decoded non-finite values (an overflow in float16); use --dtype fp32 or bf16, or a VAE "
        "made for float16");
  }
  return decoded;
}

std::unique_ptr<AppliedLora> StableDiffusionXLModel::apply_lora(const std::string& path, double strength) {
  return merge_sdxl_lora(model_, path, strength);
}

}  // namespace pawtrait::families
