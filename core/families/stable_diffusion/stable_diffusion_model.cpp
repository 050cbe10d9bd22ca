#include "families/stable_diffusion/stable_diffusion_model.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "models/lora.h"

namespace pawtrait::families {
namespace {

LatentFormat latent_format_of(const models::Architecture& a) {
  LatentFormat f;
  f.channels = a.unet.in_channels;
  f.spatial_factor = a.vae.downscale_factor();
  // StableDiffusionPipeline.check_inputs asks for multiples of 8 whatever the VAE's factor.
  f.size_multiple = std::max<std::int64_t>(8, f.spatial_factor);
  f.scaling_factor = a.vae.scaling_factor;
  return f;
}

class MergedStableDiffusionLora : public AppliedLora {
 public:
  MergedStableDiffusionLora(models::StableDiffusion& model, const models::LoraFile& lora, double strength)
      : merged_(*model.unet, *model.text_encoder, lora, strength) {
    format = lora.format;
    layers = static_cast<std::int64_t>(merged_.merged_layers());
  }

 private:
  models::MergedLora merged_;
};

}  // namespace

StableDiffusionModel::StableDiffusionModel(models::StableDiffusion& model, models::ClipTokenizer tokenizer)
    : model_(model),
      tokenizer_(std::move(tokenizer)),
      latent_format_(latent_format_of(model.architecture)),
      noise_process_(model.architecture.scheduler) {}

StableDiffusionModel::StableDiffusionModel(std::unique_ptr<models::StableDiffusion> owned,
                                           models::ClipTokenizer tokenizer)
    : owned_(std::move(owned)),
      model_(*owned_),
      tokenizer_(std::move(tokenizer)),
      latent_format_(latent_format_of(model_.architecture)),
      noise_process_(model_.architecture.scheduler) {}

std::unique_ptr<StableDiffusionModel> StableDiffusionModel::load(const std::string& model, const LoadOptions& options) {
  models::StableDiffusionOptions sd;
  sd.device = options.device;
  sd.dtype = options.dtype;
  sd.model_config = options.model_config;
  sd.variant = options.variant;
  sd.vae = options.vae;
  sd.log = options.log;
  auto loaded = std::make_unique<models::StableDiffusion>(models::load_stable_diffusion(model, sd));
  models::ClipTokenizer tokenizer = models::load_tokenizer(*loaded);
  return std::unique_ptr<StableDiffusionModel>(new StableDiffusionModel(std::move(loaded), std::move(tokenizer)));
}

GenerateDefaults StableDiffusionModel::defaults() const {
  return {.sampler = kSampler, .steps = kSteps, .size = model_.architecture.image_size, .size_fixed = false};
}

at::TensorOptions StableDiffusionModel::options() const { return model_.unet->conv_in->weight.options(); }

Conditioning StableDiffusionModel::encode(const std::string& prompt, const PromptOptions& options, const LogSink& log) {
  if (const std::string warning = tokenizer_.truncation_warning(prompt, options.text_cleanup); !warning.empty()) {
    log_to(log, LogLevel::Warning, warning);
  }
  if (!model_.text_encoder) throw Error("the text encoder was released; this prompt was not encoded before");
  const std::vector<std::int64_t> ids = tokenizer_(prompt, options.text_cleanup);
  const at::Tensor input = at::tensor(ids, at::kLong)
                               .view({1, -1})
                               .to(model_.text_encoder->text_model->embeddings->token_embedding->weight.device());
  return {{{"context", model_.text_encoder->forward(input, options.clip_skip).last_hidden_state}}};
}

at::Tensor StableDiffusionModel::predict(const at::Tensor& x_t, const at::Tensor& t, const Conditioning& conditioning) {
  return model_.unet->forward(x_t, t, conditioning.at("context"));
}

at::Tensor StableDiffusionModel::decode(const at::Tensor& latents) {
  const at::Tensor decoded = model_.vae->decode(latents / latent_format_.scaling_factor);
  // A float16 VAE can overflow to NaN: caught here rather than saved as a black picture.
  if (!at::isfinite(decoded).all().item<bool>()) {
    throw Error("the VAE decoded non-finite values (an overflow, usual with float16 VAEs); use --dtype fp32 or bf16");
  }
  return decoded;
}

std::unique_ptr<AppliedLora> StableDiffusionModel::apply_lora(const std::string& path, double strength) {
  if (!model_.text_encoder) throw Error("LoRAs cannot be merged once the text encoder is released");
  return std::make_unique<MergedStableDiffusionLora>(model_, models::load_lora(path), strength);
}

}  // namespace pawtrait::families
