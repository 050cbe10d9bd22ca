#include "families/sdxl/sdxl_configs.h"

#include "common/error.h"
#include "common/json_file.h"

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

models::CLIPTextConfig clip_text(std::int64_t hidden, std::int64_t intermediate, std::int64_t layers,
                                 std::int64_t heads, const std::string& act) {
  models::CLIPTextConfig t;
  t.hidden_size = hidden;
  t.intermediate_size = intermediate;
  t.num_hidden_layers = layers;
  t.num_attention_heads = heads;
  t.hidden_act = act;
  t.projection_dim = hidden;
  return t;
}

}  // namespace

SdxlConfigs read_sdxl_configs(const fs::path& folder, const LogSink& log) {
  SdxlConfigs c;
  if (fs::exists(folder / "model_index.json")) {
    const nlohmann::json index = read_json_file(folder / "model_index.json");
    if (index.is_object() && index.contains("force_zeros_for_empty_prompt") &&
        index["force_zeros_for_empty_prompt"].is_boolean()) {
      c.force_zeros_for_empty_prompt = index["force_zeros_for_empty_prompt"].get<bool>();
    }
  }
  c.unet = models::UNet2DConditionConfig::load(need(folder, "unet") / "config.json");
  c.vae = models::AutoencoderKLConfig::load(need(folder, "vae") / "config.json");
  c.text_encoder = models::CLIPTextConfig::load(need(folder, "text_encoder") / "config.json");
  c.text_encoder_2 = models::CLIPTextConfig::load(need(folder, "text_encoder_2") / "config.json");
  check_sdxl_configs(c, (folder / "unet" / "config.json").string());
  c.tokenizer = std::make_shared<models::ClipTokenizer>(models::ClipTokenizer::load(need(folder, "tokenizer")));
  c.tokenizer_2 = std::make_shared<models::ClipTokenizer>(models::ClipTokenizer::load(need(folder, "tokenizer_2")));
  if (fs::exists(folder / "scheduler" / "scheduler_config.json")) {
    c.scheduler = schedulers::SchedulerConfig::load(folder / "scheduler" / "scheduler_config.json", log);
  } else {
    c.scheduler = sdxl_base_configs().scheduler;
  }
  return c;
}

void check_sdxl_configs(const SdxlConfigs& c, const std::string& source) {
  if (c.unet.addition_embed_type != "text_time") {
    throw Error(source + ": an SDXL UNet has addition_embed_type \"text_time\"; this one has none");
  }
  if (!c.text_encoder_2.with_projection) {
    throw Error(source +
                ": SDXL's second text encoder is a CLIPTextModelWithProjection (its pooled, projected output "
                "conditions the UNet)");
  }
  const std::int64_t context = c.text_encoder.hidden_size + c.text_encoder_2.hidden_size;
  if (c.unet.cross_attention_dim != context) {
    throw Error(source + ": cross_attention_dim is " + std::to_string(c.unet.cross_attention_dim) +
                ", but the two text encoders give " + std::to_string(context));
  }
  const std::int64_t pooled = c.unet.projection_class_embeddings_input_dim - 6 * c.unet.addition_time_embed_dim;
  if (pooled != c.text_encoder_2.projection_dim) {
    throw Error(source + ": projection_class_embeddings_input_dim expects a " + std::to_string(pooled) +
                "-wide pooled embedding, but text_encoder_2 projects to " +
                std::to_string(c.text_encoder_2.projection_dim));
  }
}

SdxlConfigs sdxl_base_configs() {
  SdxlConfigs c;
  models::UNet2DConditionConfig& u = c.unet;
  u.sample_size = 128;
  u.down_block_types = {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"};
  u.up_block_types = {"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"};
  u.block_out_channels = {320, 640, 1280};
  u.layers_per_block = {2, 2, 2};
  u.cross_attention_dim = 2048;
  u.num_attention_heads = {5, 10, 20};  // attention_head_dim in the config: heads of 64 channels
  u.transformer_layers_per_block = {1, 2, 10};
  u.use_linear_projection = true;
  u.addition_embed_type = "text_time";
  u.addition_time_embed_dim = 256;
  u.projection_class_embeddings_input_dim = 2816;  // 1280 pooled + 6 · 256

  models::AutoencoderKLConfig& v = c.vae;
  v.block_out_channels = {128, 256, 512, 512};
  v.layers_per_block = 2;
  v.sample_size = 1024;
  v.scaling_factor = 0.13025;
  v.force_upcast = true;

  // CLIP ViT-L (OpenAI) and OpenCLIP ViT-bigG, the second with its projection.
  c.text_encoder = clip_text(768, 3072, 12, 12, "quick_gelu");
  c.text_encoder_2 = clip_text(1280, 5120, 32, 20, "gelu");
  c.text_encoder_2.with_projection = true;

  schedulers::SchedulerConfig& s = c.scheduler;
  s.class_name = "EulerDiscreteScheduler";
  s.num_train_timesteps = 1000;
  s.beta_start = 0.00085;
  s.beta_end = 0.012;
  s.beta_schedule = "scaled_linear";
  s.prediction_type = "epsilon";
  s.timestep_spacing = "leading";
  s.steps_offset = 1;
  s.clip_sample = false;
  s.set_alpha_to_one = false;
  s.use_karras_sigmas = false;
  return c;
}

}  // namespace pawtrait::families
