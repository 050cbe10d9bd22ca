#include "cli/generate_command.h"

#include <ATen/ATen.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>

#include "common/error.h"
#include "imaging/png_text.h"
#include "pipeline/image_metadata.h"
#include "pipeline/picture_files.h"
#include "pipeline/text_to_image.h"
#include "runtime/runtime_info.h"
#include "schedulers/sampler_registry.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "training/pixel_model.h"
#include "training/pixel_trainer.h"

namespace pawtrait::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_cancel{false};

extern "C" void on_interrupt(int) {
  // The first Ctrl-C stops after the current step; a second one ends the program at once.
  if (g_cancel.exchange(true)) std::_Exit(130);
}

struct GenerateOptions {
  pipeline::GenerateRequest request;
  std::string from;
  std::string out = "outputs";
  std::string init_latents;
  std::string save_latents;
  std::string lora;
  double lora_scale = 1.0;
  bool seed_given = false;
  bool size_given = false;
  bool quiet = false;
  CLI::Option* sampler_option = nullptr;
  CLI::Option* steps_option = nullptr;
};

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32") return at::kFloat;
  if (name == "fp16") return at::kHalf;
  if (name == "bf16") return at::kBFloat16;
  throw Error("unknown dtype \"" + name + "\"; use fp32, fp16 or bf16");
}

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") {
    if (!runtime::query_runtime().cuda_available) {
      throw Error("--device cuda was asked for, but this build or machine has no usable CUDA GPU; use --device cpu");
    }
    return at::kCUDA;
  }
  throw Error("unknown device \"" + name + "\"; use cpu or cuda");
}

std::string format_seconds(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%d:%02d", s / 60, s % 60);
  return text;
}

class Progress {
 public:
  explicit Progress(bool quiet) : terminal_(!quiet && ::isatty(STDERR_FILENO) != 0), quiet_(quiet) {}
  void step(const pipeline::StepProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (p.step == 1) start_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = p.step > 1 && elapsed > 0 ? (p.step - 1) / elapsed : 0.0;
    if (!terminal_) return;
    const int width = 30;
    const int filled = static_cast<int>(width * p.step / std::max<std::int64_t>(p.steps, 1));
    std::fprintf(stderr, "\r  image %lld/%lld  step %lld/%lld  [%s%s]  %.2f it/s  ETA %s   ",
                 static_cast<long long>(p.image + 1), static_cast<long long>(p.images), static_cast<long long>(p.step),
                 static_cast<long long>(p.steps), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), rate,
                 rate > 0 ? format_seconds((p.steps - p.step) / rate).c_str() : "-");
    std::fflush(stderr);
  }
  void done(const std::string& line) {
    if (terminal_) std::fprintf(stderr, "\r%*s\r", 100, "");
    if (!quiet_) std::cerr << line << '\n';
  }

 private:
  bool terminal_;
  bool quiet_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The built-in pixel model: unconditional, so the prompt does not steer it.
int run_builtin(pipeline::GenerateRequest request, const GenerateOptions& o) {
  if (!request.prompt.empty() && !o.quiet) {
    std::cerr << "note: the built-in model draws the pet it was trained on; the prompt is not used\n";
  }
  training::PixelModel model = training::load_pixel_model(request.model.substr(8));
  // The small pixel model samples best with DDPM's own ancestral sampler and the x̂₀ clipping
  // it was trained for; 100 steps are enough at 64×64.
  if (o.from.empty() && o.sampler_option->count() == 0) request.sampler = "ddpm";
  if (o.from.empty() && o.steps_option->count() == 0) request.steps = 100;
  request.width = request.height = model.config.resolution;
  if (request.steps < 1 || request.steps > 1000) throw Error("steps must be between 1 and 1000");
  schedulers::sampler_info(request.sampler);
  fs::create_directories(o.out);
  int index = pipeline::next_picture_index(o.out);
  for (std::int64_t i = 0; i < request.count; ++i) {
    if (g_cancel) break;
    pipeline::GenerateRequest one = request;
    one.seed = request.seed + static_cast<std::uint64_t>(i);
    one.count = 1;
    const auto rgb = training::sample_pixel_model(model, one.sampler, one.steps, one.seed, 1);
    std::cout << pipeline::write_picture(o.out, index, rgb[0], one.width, one.height, one).string() << std::endl;
  }
  return g_cancel ? 130 : 0;
}

int run_generate(GenerateOptions o) {
  pipeline::GenerateRequest request = o.request;
  if (!o.from.empty()) {
    // Everything from the picture, except where its output goes and what runs it.
    pipeline::GenerateRequest saved = pipeline::request_from_png(o.from);
    saved.device = request.device;
    saved.batch_size = request.batch_size;
    request = saved;
  }
  if (!o.lora.empty()) request.loras.push_back({o.lora, o.lora_scale});
  if (request.model.empty())
    throw Error("no model given: pass --model PATH (a diffusers folder or a .safetensors file)");
  if (o.from.empty() && !o.seed_given) request.seed = std::random_device{}() % 4294967296ULL;
  if (request.model.rfind("builtin:", 0) == 0) return run_builtin(request, o);
  if (request.model == "builtin") {
    throw Error("say which trained built-in model: --model builtin:RUN_DIR (the folder pawtrait-cli train wrote)");
  }

  const c10::ScalarType dtype = parse_dtype(request.dtype);
  const c10::Device device = parse_device(request.device);
  if (dtype == at::kHalf && device.is_cpu()) throw Error("fp16 needs --device cuda; on the CPU use fp32 or bf16");

  LogSink log = [&](LogLevel level, const std::string& line) {
    if (level >= LogLevel::Info && !o.quiet)
      std::cerr << (level == LogLevel::Warning ? "warning: " : "") << line << '\n';
  };
  runtime::configure_cpu_threads();
  models::StableDiffusionOptions load;
  load.dtype = dtype;
  load.device = device;
  load.log = log;
  if (!request.model_config.empty()) load.model_config = request.model_config;
  models::StableDiffusion model = models::load_stable_diffusion(request.model, load);
  if (!model.tokenizer_dir) {
    throw Error(request.model +
                " carries no tokenizer; pass --model-config with a diffusers-style folder that has one");
  }
  if (!o.size_given && o.from.empty()) request.width = request.height = model.architecture.image_size;

  at::Tensor init;
  if (!o.init_latents.empty()) {
    const auto file = tensors::SafetensorsFile::open(o.init_latents);
    if (!file.contains("latents")) throw Error(o.init_latents + " has no tensor named \"latents\"");
    init = file.tensor("latents").to(at::kFloat).clone();
  }

  pipeline::TextToImage t2i(model, models::ClipTokenizer::load(*model.tokenizer_dir));
  t2i.validate(request);
  fs::create_directories(o.out);

  Progress progress(o.quiet);
  std::vector<at::Tensor> latents;
  int index = pipeline::next_picture_index(o.out);
  pipeline::GenerateCallbacks callbacks;
  callbacks.log = log;
  callbacks.cancel = &g_cancel;
  callbacks.on_step = [&](const pipeline::StepProgress& p) { progress.step(p); };
  callbacks.on_image = [&](const pipeline::GeneratedImage& image) {
    const fs::path target = pipeline::write_picture(o.out, index, image.rgb, image.width, image.height, image.request);
    latents.push_back(image.latents);
    progress.done(target.string());
    std::cout << target.string() << std::endl;
  };

  std::signal(SIGINT, on_interrupt);
  const auto images = t2i.generate(request, callbacks, init);
  std::signal(SIGINT, SIG_DFL);
  if (!o.save_latents.empty() && !latents.empty()) {
    tensors::write_safetensors(o.save_latents, {{"latents", at::cat(latents)}});
  }
  if (g_cancel) {
    std::cerr << "stopped: " << images.size() << " image(s) finished and kept\n";
    return 130;
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Make pictures from a prompt with a Stable Diffusion model");
  auto& r = o->request;
  cmd->add_option("--model", r.model, "A diffusers model folder or a .safetensors checkpoint");
  cmd->add_option("--model-config", r.model_config, "A diffusers-style folder of configs describing a single file")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--prompt,-p", r.prompt, "What to draw");
  cmd->add_option("--negative", r.negative_prompt, "What to avoid");
  o->steps_option = cmd->add_option("--steps", r.steps, "Sampling steps (built-in model: 100)")->capture_default_str();
  cmd->add_option("--guidance", r.guidance, "Classifier-free guidance scale (1 = off)")->capture_default_str();
  o->sampler_option = cmd->add_option("--sampler", r.sampler,
                                      "ddpm, ddim, euler, euler_a, dpmpp_2m or dpmpp_2m_karras (built-in model: ddpm)")
                          ->capture_default_str();
  cmd->add_option("--eta", r.eta, "DDIM's eta (0 = deterministic)");
  cmd->add_option("--clip-skip", r.clip_skip, "Use the text encoder's output this many layers early");
  cmd->add_option_function<std::uint64_t>(
      "--seed",
      [o](std::uint64_t s) {
        o->request.seed = s;
        o->seed_given = true;
      },
      "Seed of the first image; image i uses seed + i (default: random)");
  cmd->add_option_function<std::int64_t>(
      "--width",
      [o](std::int64_t w) {
        o->request.width = w;
        o->size_given = true;
      },
      "Width in pixels, a multiple of 8 (default: the model's size)");
  cmd->add_option_function<std::int64_t>(
      "--height",
      [o](std::int64_t h) {
        o->request.height = h;
        o->size_given = true;
      },
      "Height in pixels, a multiple of 8 (default: the model's size)");
  cmd->add_option("-n,--count", r.count, "How many images")->capture_default_str();
  cmd->add_option("--batch", r.batch_size, "Images sampled together")->capture_default_str();
  cmd->add_option("--out", o->out, "Output folder (files are never overwritten)")->capture_default_str();
  cmd->add_option("--device", r.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--dtype", r.dtype, "fp32, fp16 (CUDA) or bf16")->capture_default_str();
  cmd->add_option("--lora", o->lora, "A LoRA file to apply");
  cmd->add_option("--lora-scale", o->lora_scale, "The LoRA's strength, 0-2");
  cmd->add_option("--from", o->from, "Re-run the settings stored in a Pawtrait PNG")->check(CLI::ExistingFile);
  cmd->add_option("--init-latents", o->init_latents,
                  "Start from this noise: a .safetensors file with a tensor \"latents\" [n, C, H/f, W/f]")
      ->check(CLI::ExistingFile);
  cmd->add_option("--save-latents", o->save_latents,
                  "Save the final latents (before the VAE) as a tensor \"latents\" in this .safetensors file");
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the written file names");
  cmd->callback([o] {
    const int code = run_generate(*o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace pawtrait::cli
