// Memory and speed of the Stable Diffusion components on an SD-1.5-shaped model with random
// weights (made here, never shipped). Each phase runs in its own process so that its peak
// RSS is its own; tests/bench/run-model-bench drives them and prints ratios measured in the
// same run:
//   model_bench create DIR [TOKENIZER_DIR]  write an SD 1.5-shaped UNet folder (random weights);
//                              with a tokenizer folder, a whole SD 1.5-shaped model
//   model_bench create-sdxl DIR TOKENIZER_DIR TOKENIZER_2_DIR  a whole SDXL 1.0 base-shaped
//                              model (random weights, float32, 14 GB) for tests/bench/run --sdxl
//   model_bench create-klein DIR [KLEIN_TINY_DIR]  a FLUX.2 [klein] 4B-shaped transformer/
//                              folder (random weights, bfloat16 as the real file is, 7.8 GB);
//                              with a tiny klein folder, the whole model (16 GB)
//   model_bench load DIR       load it; print seconds, peak RSS and the weights' size
//   model_bench read DIR       read the weight file's bytes once (the I/O floor for load)
//   model_bench forward DIR [slice]  UNet forward, batch 2, 64×64 latents, CPU float32
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "families/flux2/flux2_transformer.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text.h"
#include "models/component_loader.h"
#include "models/qwen3_config.h"
#include "models/qwen3_text.h"
#include "models/weight_init.h"
#include "peak_rss.h"
#include "runtime/runtime_info.h"
#include "tensors/safetensors_writer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

nlohmann::json sd15_unet_config() {
  return {{"_class_name", "UNet2DConditionModel"},
          {"sample_size", 64},
          {"cross_attention_dim", 768},
          {"attention_head_dim", 8},
          {"block_out_channels", {320, 640, 1280, 1280}},
          {"layers_per_block", 2},
          {"down_block_types", {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"}},
          {"up_block_types", {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"}}};
}

void save_component(const fs::path& dir, const char* name, torch::nn::Module& module, const nlohmann::json& config,
                    const char* file) {
  fs::create_directories(dir / name);
  std::ofstream(dir / name / "config.json") << config.dump(2);
  pawtrait::tensors::NamedTensors weights;
  for (const auto& item : module.named_parameters()) weights.emplace_back(item.key(), item.value().detach());
  pawtrait::tensors::write_safetensors(dir / name / file, weights);
}

// The rest of an SD 1.5 folder around the UNet: VAE and CLIP text encoder with random
// weights in SD 1.5's shapes, the scheduler config, and a tokenizer copied from `tokenizer`.
void create_other_components(const fs::path& dir, const fs::path& tokenizer) {
  const nlohmann::json vae_config = {{"block_out_channels", {128, 256, 512, 512}},
                                     {"layers_per_block", 2},
                                     {"sample_size", 512},
                                     {"down_block_types", std::vector<std::string>(4, "DownEncoderBlock2D")},
                                     {"up_block_types", std::vector<std::string>(4, "UpDecoderBlock2D")}};
  const nlohmann::json text_config = {{"hidden_size", 768},         {"intermediate_size", 3072},
                                      {"num_hidden_layers", 12},    {"num_attention_heads", 12},
                                      {"hidden_act", "quick_gelu"}, {"max_position_embeddings", 77}};
  pawtrait::models::AutoencoderKL vae(pawtrait::models::AutoencoderKLConfig::from_json(vae_config, "bench"));
  save_component(dir, "vae", *vae, vae_config, "diffusion_pytorch_model.safetensors");
  pawtrait::models::CLIPTextModel text(pawtrait::models::CLIPTextConfig::from_json(text_config, "bench"));
  save_component(dir, "text_encoder", *text, text_config, "model.safetensors");
  fs::create_directories(dir / "scheduler");
  std::ofstream(dir / "scheduler" / "scheduler_config.json") << nlohmann::json{
      {"_class_name", "PNDMScheduler"},   {"beta_start", 0.00085}, {"beta_end", 0.012},
      {"beta_schedule", "scaled_linear"}, {"steps_offset", 1},     {"set_alpha_to_one", false},
      {"skip_prk_steps", true},           {"clip_sample", false}}.dump(2);
  fs::copy(tokenizer, dir / "tokenizer", fs::copy_options::recursive);
  std::ofstream(dir / "model_index.json") << nlohmann::json{{"_class_name", "StableDiffusionPipeline"},
                                                            {"unet", {"diffusers", "UNet2DConditionModel"}},
                                                            {"vae", {"diffusers", "AutoencoderKL"}},
                                                            {"text_encoder", {"transformers", "CLIPTextModel"}},
                                                            {"tokenizer", {"transformers", "CLIPTokenizer"}},
                                                            {"scheduler", {"diffusers", "PNDMScheduler"}}}
                                                 .dump(2);
}

// SDXL 1.0 base's configs (stabilityai/stable-diffusion-xl-base-1.0), the fields that shape it.
nlohmann::json sdxl_unet_config() {
  return {{"_class_name", "UNet2DConditionModel"},
          {"sample_size", 128},
          {"cross_attention_dim", 2048},
          {"attention_head_dim", {5, 10, 20}},
          {"block_out_channels", {320, 640, 1280}},
          {"layers_per_block", 2},
          {"transformer_layers_per_block", {1, 2, 10}},
          {"use_linear_projection", true},
          {"addition_embed_type", "text_time"},
          {"addition_time_embed_dim", 256},
          {"projection_class_embeddings_input_dim", 2816},
          {"down_block_types", {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"}},
          {"up_block_types", {"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"}}};
}

int create_sdxl(const fs::path& dir, const fs::path& tokenizer, const fs::path& tokenizer_2) {
  namespace models = pawtrait::models;
  std::int64_t parameters = 0;
  {  // one component in memory at a time: the UNet alone is 10 GB in float32
    models::UNet2DConditionModel unet(models::UNet2DConditionConfig::from_json(sdxl_unet_config(), "bench"));
    for (const auto& item : unet->named_parameters()) parameters += item.value().numel();
    save_component(dir, "unet", *unet, sdxl_unet_config(), "diffusion_pytorch_model.safetensors");
  }
  const nlohmann::json vae_config = {{"block_out_channels", {128, 256, 512, 512}},
                                     {"layers_per_block", 2},
                                     {"sample_size", 1024},
                                     {"scaling_factor", 0.13025},
                                     {"force_upcast", true},
                                     {"down_block_types", std::vector<std::string>(4, "DownEncoderBlock2D")},
                                     {"up_block_types", std::vector<std::string>(4, "UpDecoderBlock2D")}};
  {
    models::AutoencoderKL vae(models::AutoencoderKLConfig::from_json(vae_config, "bench"));
    save_component(dir, "vae", *vae, vae_config, "diffusion_pytorch_model.safetensors");
  }
  const nlohmann::json text_config = {
      {"architectures", {"CLIPTextModel"}}, {"model_type", "clip_text_model"}, {"hidden_size", 768},
      {"intermediate_size", 3072},          {"num_hidden_layers", 12},         {"num_attention_heads", 12},
      {"hidden_act", "quick_gelu"},         {"max_position_embeddings", 77},   {"projection_dim", 768}};
  const nlohmann::json text_config_2 = {{"architectures", {"CLIPTextModelWithProjection"}},
                                        {"model_type", "clip_text_model"},
                                        {"hidden_size", 1280},
                                        {"intermediate_size", 5120},
                                        {"num_hidden_layers", 32},
                                        {"num_attention_heads", 20},
                                        {"hidden_act", "gelu"},
                                        {"max_position_embeddings", 77},
                                        {"projection_dim", 1280}};
  {
    models::CLIPTextModel text(models::CLIPTextConfig::from_json(text_config, "bench"));
    save_component(dir, "text_encoder", *text, text_config, "model.safetensors");
  }
  {
    models::CLIPTextModel text(models::CLIPTextConfig::from_json(text_config_2, "bench"));
    save_component(dir, "text_encoder_2", *text, text_config_2, "model.safetensors");
  }
  fs::create_directories(dir / "scheduler");
  std::ofstream(dir / "scheduler" / "scheduler_config.json")
      << nlohmann::json{{"_class_name", "EulerDiscreteScheduler"},
                        {"beta_start", 0.00085},
                        {"beta_end", 0.012},
                        {"beta_schedule", "scaled_linear"},
                        {"steps_offset", 1},
                        {"timestep_spacing", "leading"},
                        {"interpolation_type", "linear"},
                        {"prediction_type", "epsilon"}}
             .dump(2);
  fs::copy(tokenizer, dir / "tokenizer", fs::copy_options::recursive);
  fs::copy(tokenizer_2, dir / "tokenizer_2", fs::copy_options::recursive);
  std::ofstream(dir / "model_index.json") << nlohmann::json{
      {"_class_name", "StableDiffusionXLPipeline"},
      {"force_zeros_for_empty_prompt", true},
      {"unet", {"diffusers", "UNet2DConditionModel"}},
      {"vae", {"diffusers", "AutoencoderKL"}},
      {"text_encoder", {"transformers", "CLIPTextModel"}},
      {"text_encoder_2", {"transformers", "CLIPTextModelWithProjection"}},
      {"tokenizer", {"transformers", "CLIPTokenizer"}},
      {"tokenizer_2", {"transformers", "CLIPTokenizer"}},
      {"scheduler",
       {"diffusers", "EulerDiscreteScheduler"}}}.dump(2);
  std::cout << "{\"parameters\": " << parameters << "}\n";
  return 0;
}

// black-forest-labs/FLUX.2-klein-4B's transformer config (diffusers' convert_flux2_to_diffusers.py,
// "klein-4b"): 5 double-stream and 20 single-stream blocks, 24 heads of 128, Qwen3-4B's three
// stacked 2560-wide states as text.
nlohmann::json klein_transformer_config() {
  return {{"_class_name", "Flux2Transformer2DModel"},
          {"patch_size", 1},
          {"in_channels", 128},
          {"out_channels", nullptr},
          {"num_layers", 5},
          {"num_single_layers", 20},
          {"attention_head_dim", 128},
          {"num_attention_heads", 24},
          {"joint_attention_dim", 7680},
          {"timestep_guidance_channels", 256},
          {"mlp_ratio", 3.0},
          {"axes_dims_rope", {32, 32, 32, 32}},
          {"rope_theta", 2000},
          {"eps", 1e-6},
          {"guidance_embeds", false}};
}

// Draws a module's weights straight into bfloat16, one tensor at a time, so that its float32
// copy is never in memory: each matrix like PyTorch's default (uniform in ±1/√fan_in), each
// norm weight and bias as ones. Returns the number of parameters.
std::int64_t draw_bf16_weights(torch::nn::Module& module) {
  at::NoGradGuard no_grad;
  std::int64_t parameters = 0;
  for (auto& item : module.named_parameters()) {
    at::Tensor& p = item.value();
    at::Tensor drawn = at::empty(p.sizes(), p.options().dtype(at::kBFloat16));
    if (p.dim() >= 2) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(p.size(1)));
      drawn.uniform_(-bound, bound);
    } else {
      drawn.fill_(1.0);
    }
    p.set_data(drawn);
    parameters += p.numel();
  }
  return parameters;
}

// Qwen3-4B's config (Qwen/Qwen3-4B), FLUX.2 [klein] 4B's text encoder.
nlohmann::json qwen3_4b_config() {
  return {{"architectures", {"Qwen3ForCausalLM"}},
          {"model_type", "qwen3"},
          {"vocab_size", 151936},
          {"hidden_size", 2560},
          {"intermediate_size", 9728},
          {"num_hidden_layers", 36},
          {"num_attention_heads", 32},
          {"num_key_value_heads", 8},
          {"head_dim", 128},
          {"hidden_act", "silu"},
          {"max_position_embeddings", 40960},
          {"rms_norm_eps", 1e-6},
          {"rope_parameters", {{"rope_theta", 1000000.0}, {"rope_type", "default"}}},
          {"attention_bias", false},
          {"tie_word_embeddings", true},
          {"use_sliding_window", false},
          {"sliding_window", nullptr}};
}

// FLUX.2's VAE config (AutoencoderKLFlux2 as black-forest-labs ship it): SD's VAE widths, 32
// latent channels, 2×2 patches normalised by the batch-norm statistics.
nlohmann::json flux2_vae_config() {
  return {{"_class_name", "AutoencoderKLFlux2"},
          {"in_channels", 3},
          {"out_channels", 3},
          {"block_out_channels", {128, 256, 512, 512}},
          {"down_block_types", std::vector<std::string>(4, "DownEncoderBlock2D")},
          {"up_block_types", std::vector<std::string>(4, "UpDecoderBlock2D")},
          {"layers_per_block", 2},
          {"latent_channels", 32},
          {"norm_num_groups", 32},
          {"sample_size", 1024},
          {"patch_size", {2, 2}},
          {"act_fn", "silu"},
          {"batch_norm_eps", 1e-4},
          {"batch_norm_momentum", 0.1},
          {"mid_block_add_attention", true},
          {"use_quant_conv", true},
          {"use_post_quant_conv", true},
          {"force_upcast", true}};
}

// FLUX.2 [klein] 4B with random weights: its transformer in bfloat16 as the real file is
// (7.8 GB) and, given a tiny klein folder to take the tokenizer, scheduler and
// model_index.json from, the whole model: Qwen3-4B's text encoder in bfloat16 (8 GB) and the
// VAE in float32 with its latent statistics.
int create_klein(const fs::path& dir, const fs::path& like) {
  namespace families = pawtrait::families;
  namespace models = pawtrait::models;
  const nlohmann::json config = klein_transformer_config();
  std::int64_t parameters = 0;
  {
    families::Flux2Transformer2DModel transformer{nullptr};
    {
      models::SkipWeightInit uninitialised;  // its float32 pages are never touched
      transformer = families::Flux2Transformer2DModel(families::Flux2TransformerConfig::from_json(config, "bench"));
    }
    parameters += draw_bf16_weights(*transformer);
    save_component(dir, "transformer", *transformer, config, "diffusion_pytorch_model.safetensors");
  }
  if (!like.empty()) {
    {
      models::Qwen3TextModel text{nullptr};
      {
        models::SkipWeightInit uninitialised;
        text = models::Qwen3TextModel(models::Qwen3Config::from_json(qwen3_4b_config(), "bench"));
      }
      parameters += draw_bf16_weights(*text);
      save_component(dir, "text_encoder", *text, qwen3_4b_config(), "model.safetensors");
    }
    {
      models::AutoencoderKL vae(models::AutoencoderKLConfig::from_json(flux2_vae_config(), "bench"));
      // With its buffers: FLUX.2 normalises latents with the batch norm's running statistics.
      fs::create_directories(dir / "vae");
      std::ofstream(dir / "vae" / "config.json") << flux2_vae_config().dump(2);
      pawtrait::tensors::NamedTensors weights;
      for (const auto& item : vae->named_parameters()) weights.emplace_back(item.key(), item.value().detach());
      for (const auto& item : vae->named_buffers()) weights.emplace_back(item.key(), item.value().detach());
      pawtrait::tensors::write_safetensors(dir / "vae" / "diffusion_pytorch_model.safetensors", weights);
    }
    for (const char* part : {"tokenizer", "scheduler"})
      fs::copy(like / part, dir / part, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    fs::copy_file(like / "model_index.json", dir / "model_index.json", fs::copy_options::overwrite_existing);
  }
  std::cout << "{\"parameters\": " << parameters << "}\n";
  return 0;
}

int create(const fs::path& dir, const fs::path& tokenizer) {
  if (!tokenizer.empty()) create_other_components(dir, tokenizer);
  fs::create_directories(dir / "unet");
  std::ofstream(dir / "unet" / "config.json") << sd15_unet_config().dump(2);
  pawtrait::models::UNet2DConditionModel unet(
      pawtrait::models::UNet2DConditionConfig::from_json(sd15_unet_config(), "bench"));
  pawtrait::tensors::NamedTensors weights;
  std::int64_t parameters = 0;
  for (const auto& item : unet->named_parameters()) {
    weights.emplace_back(item.key(), item.value().detach());
    parameters += item.value().numel();
  }
  pawtrait::tensors::write_safetensors(dir / "unet" / "diffusion_pytorch_model.safetensors", weights);
  std::cout << "{\"parameters\": " << parameters << "}\n";
  return 0;
}

int load(const fs::path& dir) {
  const auto start = Clock::now();
  pawtrait::models::UNet2DConditionModel unet = pawtrait::models::load_unet(dir / "unet");
  const double elapsed = seconds_since(start);
  const double weights_mib =
      static_cast<double>(fs::file_size(dir / "unet" / "diffusion_pytorch_model.safetensors")) / (1024.0 * 1024.0);
  std::cout << "{\"load_seconds\": " << elapsed << ", \"peak_rss_mib\": " << peak_rss_mib()
            << ", \"weights_mib\": " << weights_mib << "}\n";
  return 0;
}

int read(const fs::path& dir) {
  const auto start = Clock::now();
  std::ifstream in(dir / "unet" / "diffusion_pytorch_model.safetensors", std::ios::binary);
  std::vector<char> buffer(1 << 24);
  std::uint64_t total = 0;
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) total += in.gcount();
  std::cout << "{\"read_seconds\": " << seconds_since(start) << ", \"bytes\": " << total << "}\n";
  return 0;
}

int forward(const fs::path& dir, std::int64_t slice) {
  at::NoGradGuard no_grad;
  pawtrait::models::UNet2DConditionModel unet = pawtrait::models::load_unet(dir / "unet");
  unet->attention_options.slice_size = slice;
  const at::Tensor sample = at::randn({2, 4, 64, 64});
  const at::Tensor context = at::randn({2, 77, 768});
  const at::Tensor t = at::tensor(std::int64_t{500});
  const double rss_before = peak_rss_mib();
  const auto start = Clock::now();
  const at::Tensor out = unet->forward(sample, t, context);
  const double elapsed = seconds_since(start);
  std::cout << "{\"forward_seconds\": " << elapsed << ", \"slice\": " << slice
            << ", \"peak_rss_mib\": " << peak_rss_mib() << ", \"rss_before_forward_mib\": " << rss_before
            << ", \"finite\": " << (at::isfinite(out).all().item<bool>() ? "true" : "false") << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr
        << "usage: model_bench create|create-sdxl|create-klein|load|read|forward DIR [slice | TOKENIZER TOKENIZER_2]\n";
    return 2;
  }
  pawtrait::runtime::configure_cpu_threads();
  const std::string phase = argv[1];
  const fs::path dir = argv[2];
  if (phase == "create") return create(dir, argc > 3 ? argv[3] : "");
  if (phase == "create-sdxl" && argc == 5) return create_sdxl(dir, argv[3], argv[4]);
  if (phase == "create-klein") return create_klein(dir, argc > 3 ? argv[3] : "");
  if (phase == "load") return load(dir);
  if (phase == "read") return read(dir);
  if (phase == "forward") return forward(dir, argc > 3 ? std::stoll(argv[3]) : 0);
  std::cerr << "unknown phase " << phase << "\n";
  return 2;
}
