#include "families/sdxl/sdxl_model.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/json_file.h"
#include "models/autoencoder_kl_config.h"
#include "models/clip_text_config.h"
#include "models/component_loader.h"
#include "models/unet2d_condition_config.h"

namespace pawtrait::families {
namespace {

namespace fs = std::filesystem;

fs::path need(const fs::path& folder, const std::string& component) {
  const fs::path dir = folder / component;
  if (!fs::is_directory(dir)) {
    throw Error(folder.string() + " has no " + component +
                "/ folder; an SDXL model folder needs unet/, vae/, text_encoder/, text_encoder_2/, tokenizer/ and "
                "tokenizer_2/");
  }
  return dir;
}

// hidden_states[index] counted from the end (-2: the penultimate layer's output).
at::Tensor from_end(const models::CLIPTextOutput& out, std::int64_t index) {
  const auto n = static_cast<std::int64_t>(out.hidden_states.size());
  if (-index > n) throw Error("clip_skip is too large for this text encoder");
  return out.hidden_states[static_cast<std::size_t>(n + index)];
}

}  // namespace

StableDiffusionXL load_sdxl(const fs::path& folder, const LoadOptions& options) {
  StableDiffusionXL m;
  m.source = folder;
  const nlohmann::json index = read_json_file(folder / "model_index.json");
  if (index.is_object() && index.contains("force_zeros_for_empty_prompt") &&
      index["force_zeros_for_empty_prompt"].is_boolean()) {
    m.force_zeros_for_empty_prompt = index["force_zeros_for_empty_prompt"].get<bool>();
  }
  // The configs agree with each other before any weight is read (gigabytes, on a real model).
  const auto unet = models::UNet2DConditionConfig::load(need(folder, "unet") / "config.json");
  const auto vae = models::AutoencoderKLConfig::load(need(folder, "vae") / "config.json");
  const auto te1 = models::CLIPTextConfig::load(need(folder, "text_encoder") / "config.json");
  const auto te2 = models::CLIPTextConfig::load(need(folder, "text_encoder_2") / "config.json");
  const std::string unet_config = (folder / "unet" / "config.json").string();
  if (unet.addition_embed_type != "text_time") {
    throw Error(unet_config + ": an SDXL UNet has addition_embed_type \"text_time\"; this one has none");
  }
  if (!te2.with_projection) {
    throw Error((folder / "text_encoder_2" / "config.json").string() +
                ": SDXL's second text encoder is a CLIPTextModelWithProjection (its pooled, projected output "
                "conditions the UNet)");
  }
  if (unet.cross_attention_dim != te1.hidden_size + te2.hidden_size) {
    throw Error(unet_config + ": cross_attention_dim is " + std::to_string(unet.cross_attention_dim) +
                ", but the two text encoders give " + std::to_string(te1.hidden_size + te2.hidden_size));
  }
  const std::int64_t pooled = unet.projection_class_embeddings_input_dim - 6 * unet.addition_time_embed_dim;
  if (pooled != te2.projection_dim) {
    throw Error(unet_config + ": projection_class_embeddings_input_dim expects a " + std::to_string(pooled) +
                "-wide pooled embedding, but text_encoder_2 projects to " + std::to_string(te2.projection_dim));
  }
  m.tokenizer = std::make_shared<models::ClipTokenizer>(models::ClipTokenizer::load(need(folder, "tokenizer")));
  m.tokenizer_2 = std::make_shared<models::ClipTokenizer>(models::ClipTokenizer::load(need(folder, "tokenizer_2")));
  if (fs::exists(folder / "scheduler" / "scheduler_config.json")) {
    m.scheduler = schedulers::SchedulerConfig::load(folder / "scheduler" / "scheduler_config.json", options.log);
  }

  const models::ComponentLoadOptions component{options.dtype, options.device, options.variant, options.log};
  m.unet = models::load_unet(folder / "unet", component);
  models::ComponentLoadOptions vae_options = component;
  if (options.dtype == c10::kHalf && vae.force_upcast) vae_options.dtype = c10::kFloat;
  m.vae = models::load_vae(folder / "vae", vae_options);
  m.text_encoder = models::load_text_encoder(folder / "text_encoder", component);
  m.text_encoder_2 = models::load_text_encoder(folder / "text_encoder_2", component);
  log_to(options.log, LogLevel::Info, "model: diffusers folder, Stable Diffusion XL");
  return m;
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
  return {.sampler = "euler",
          .steps = 30,
          .size = model_.unet->config.sample_size * latent_format_.spatial_factor,
          .size_fixed = false};
}

at::TensorOptions StableDiffusionXLModel::options() const { return model_.unet->conv_in->weight.options(); }

Conditioning StableDiffusionXLModel::encode(const std::string& prompt, const PromptOptions& options,
                                            const LogSink& log) {
  if (const std::string warning = model_.tokenizer->truncation_warning(prompt); !warning.empty()) {
    log_to(log, LogLevel::Warning, warning);
  }
  auto ids = [&](const models::ClipTokenizer& tokenizer, const models::CLIPTextModel& encoder) {
    return at::tensor(tokenizer(prompt), at::kLong)
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

std::unique_ptr<AppliedLora> StableDiffusionXLModel::apply_lora(const std::string& path, double) {
  throw Error("LoRA files for Stable Diffusion XL are not supported yet (" + path + ")");
}

}  // namespace pawtrait::families
