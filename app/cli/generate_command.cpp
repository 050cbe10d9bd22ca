#include "cli/generate_command.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "common/error.h"
#include "engine/engine.h"
#include "families/model_kinds.h"
#include "hub/model_cache.h"
#include "models/model_fingerprint.h"
#include "pipeline/image_metadata.h"
#include "pipeline/model_search.h"

namespace pawtrait::cli {
namespace {

namespace fs = std::filesystem;

engine::CancelToken g_token;

extern "C" void on_interrupt(int) {
  // The first Ctrl-C stops after the current step; a second one ends the program at once.
  if (g_token.cancel.exchange(true)) std::_Exit(130);
}

struct GenerateOptions {
  pipeline::GenerateRequest request;
  std::string from;
  std::string out = "outputs";
  std::string init_latents;
  std::string save_latents;
  std::string lora;
  double lora_scale = 1.0;
  bool lora_scale_given = false;
  bool seed_given = false;
  bool quiet = false;
};

std::string format_seconds(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%d:%02d", s / 60, s % 60);
  return text;
}

class Progress {
 public:
  explicit Progress(bool quiet) : terminal_(!quiet && ::isatty(STDERR_FILENO) != 0), quiet_(quiet) {}
  void step(const engine::GenerateStep& p) {
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

// The picture's request, its models found by name and hash (pipeline/model_search.h), or
// where --model, --vae and --lora say they are; --lora stands in for the picture's LoRA of
// the same hash, else for its only one, else is added.
pipeline::GenerateRequest request_from_picture(const GenerateOptions& o, const LogSink& log, bool& lora_used) {
  pipeline::GenerateRequest saved = pipeline::request_from_png(o.from);
  // Everything from the picture, except where its output goes and what runs it.
  saved.device = o.request.device;
  saved.batch_size = o.request.batch_size;
  if (!o.request.model.empty()) {
    saved.model = o.request.model.starts_with(families::kBuiltinPrefix) ? o.request.model
                                                                        : fs::absolute(o.request.model).string();
  }
  if (!o.request.vae.empty()) saved.vae = fs::absolute(o.request.vae).string();
  const fs::path cache = models::default_hash_cache();
  if (!o.lora.empty()) {
    const std::string given = fs::absolute(o.lora).string();
    const std::string hash = models::short_hash(given, cache);
    auto same = std::find_if(saved.loras.begin(), saved.loras.end(), [&](const auto& l) { return l.hash == hash; });
    if (same == saved.loras.end() && saved.loras.size() == 1) same = saved.loras.begin();
    if (same != saved.loras.end()) {
      same->path = given;
      if (o.lora_scale_given) same->strength = o.lora_scale;
      lora_used = true;
    }
  }
  std::vector<fs::path> folders = pipeline::folders_near(o.from);
  try {
    folders.push_back(hub::default_models_dir());
  } catch (const Error&) {
    // No home folder: the folders near the picture are all there is.
  }
  return pipeline::locate_models(saved, folders, log, cache);
}

int run_generate(const GenerateOptions& o) {
  const LogSink log = [&](LogLevel level, const std::string& line) {
    if (level >= LogLevel::Info && !o.quiet)
      std::cerr << (level == LogLevel::Warning ? "warning: " : "") << line << '\n';
  };
  engine::GenerateJob job;
  job.request = o.request;
  bool lora_used = false;
  if (!o.from.empty()) job.request = request_from_picture(o, log, lora_used);
  if (job.request.model.empty()) {
    throw Error("no model given: pass --model PATH (a diffusers folder, a .safetensors file or builtin:RUN_DIR)");
  }
  if (!o.lora.empty() && !lora_used) job.request.loras.push_back({o.lora, o.lora_scale});
  if (o.from.empty() && !o.seed_given) job.request.seed = std::random_device{}() % 4294967296ULL;
  job.out_dir = o.out;
  job.init_latents = o.init_latents;
  job.save_latents = o.save_latents;

  Progress progress(o.quiet);
  engine::GenerateEvents events;
  events.log = log;
  events.on_step = [&](const engine::GenerateStep& p) { progress.step(p); };
  events.on_picture = [&](const engine::Picture& picture) {
    progress.done(picture.file.string());
    std::cout << picture.file.string() << std::endl;
  };
  engine::Engine engine;
  std::signal(SIGINT, on_interrupt);
  const engine::GenerateResult result = engine.generate(job, events, g_token);
  std::signal(SIGINT, SIG_DFL);
  if (result.stopped) {
    std::cerr << "stopped: " << result.files.size() << " image(s) finished and kept\n";
    return 130;
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Make pictures from a prompt (Stable Diffusion, SDXL, FLUX.2 [klein] or a built-in model)");
  auto& r = o->request;
  cmd->add_option("--model", r.model, "A diffusers model folder or a .safetensors checkpoint");
  cmd->add_option("--model-config", r.model_config, "A diffusers-style folder of configs describing a single file")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--vae", r.vae,
                  "A VAE to decode with instead of the model's own: a diffusers vae/ folder or a .safetensors file "
                  "(e.g. SDXL's fp16-fix VAE)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--prompt,-p", r.prompt, "What to draw");
  // SDXL's micro-conditioning, as HEIGHT,WIDTH (the reference pipeline's order).
  const auto size_option = [&](const char* flag, std::optional<pipeline::GenerateRequest::Pair>& field,
                               const char* what) {
    cmd->add_option_function<std::string>(
        flag,
        [&field, flag](const std::string& text) {
          std::int64_t h = 0, w = 0;
          char comma = 0, rest = 0;
          std::istringstream in(text);
          if (!(in >> h >> comma >> w) || comma != ',' || (in >> rest) || h < 0 || w < 0 || h > 65536 || w > 65536) {
            throw CLI::ValidationError(flag, "give HEIGHT,WIDTH in pixels, such as 1024,768; got \"" + text + "\"");
          }
          field = pipeline::GenerateRequest::Pair{h, w};
        },
        what);
  };
  size_option("--original-size", r.original_size, "SDXL: the size the picture is to look taken at, HEIGHT,WIDTH");
  size_option("--crop-top-left", r.crops_coords_top_left, "SDXL: the crop it is to look cut at, TOP,LEFT");
  size_option("--target-size", r.target_size, "SDXL: the size it is to look made for, HEIGHT,WIDTH");
  size_option("--negative-original-size", r.negative_original_size,
              "SDXL: the same for the negative branch (with --negative-target-size)");
  size_option("--negative-crop-top-left", r.negative_crops_coords_top_left, "SDXL: the negative branch's crop");
  size_option("--negative-target-size", r.negative_target_size,
              "SDXL: the negative branch's target size (with --negative-original-size)");
  cmd->add_option_function<std::string>(
      "--negative", [o](const std::string& text) { o->request.negative_prompt = text; },
      "What to avoid (without it, the model's own unconditional branch; --negative \"\" encodes an empty prompt)");
  cmd->add_option("--steps", r.steps, "Sampling steps (default: 25; built-in model: 100)")
      ->check(CLI::Validator(
          [](const std::string& value) {
            // 0 in a request means "the model's default"; typed here it is a mistake.
            const bool ok = !value.empty() && value.size() < 6 &&
                            value.find_first_not_of("0123456789") == std::string::npos && std::stoi(value) >= 1;
            return ok ? std::string() : "steps must be between 1 and the model's training steps; got " + value;
          },
          "1..1000"));
  r.guidance = 0;  // the model's own default, filled in by the engine
  cmd->add_option("--guidance", r.guidance,
                  "Classifier-free guidance scale, 1 = off (default: the model's: 7.5 for Stable Diffusion, 4 for "
                  "FLUX.2 [klein] base; the distilled klein is not guided)");
  cmd->add_option("--text-encoder-layers", r.text_encoder_layers,
                  "FLUX.2 [klein]: the text-encoder layers whose states make the prompt embedding (default: "
                  "9,18,27, the pipeline's; for a model whose text encoder has another depth)");
  cmd->add_option("--sampler", r.sampler,
                  "ddpm, ddim, euler, euler_a, dpmpp_2m or dpmpp_2m_karras (default: dpmpp_2m_karras; built-in "
                  "model: ddpm)");
  cmd->add_option("--eta", r.eta, "DDIM's eta (0 = deterministic)");
  cmd->add_option("--clip-skip", r.clip_skip, "Use the text encoder's output this many layers early");
  cmd->add_option("--prompt-cleanup", r.prompt_cleanup,
                  "How the CLIP tokenizer normalises prompts: nfc (as current diffusers) or ftfy (as transformers 4 "
                  "with ftfy: HTML entities, curly quotes, ligatures and full-width letters folded)")
      ->check(CLI::IsMember({"nfc", "ftfy"}))
      ->capture_default_str();
  cmd->add_option_function<std::uint64_t>(
      "--seed",
      [o](std::uint64_t s) {
        o->request.seed = s;
        o->seed_given = true;
      },
      "Seed of the first image; image i uses seed + i (default: random)");
  cmd->add_option("--width", r.width, "Width in pixels, a multiple of 8 (FLUX.2: 16) (default: the model's size)");
  cmd->add_option("--height", r.height, "Height in pixels, a multiple of 8 (FLUX.2: 16) (default: the model's size)");
  cmd->add_option("-n,--count", r.count, "How many images")->capture_default_str();
  cmd->add_option("--batch", r.batch_size, "Images sampled together")->capture_default_str();
  cmd->add_option("--out", o->out, "Output folder (files are never overwritten)")->capture_default_str();
  cmd->add_option("--device", r.device, "auto (a CUDA GPU when there is one), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--dtype", r.dtype, "auto (bf16 or fp16 on a GPU, fp32 on the CPU), fp32, fp16 (CUDA) or bf16")
      ->check(CLI::IsMember({"auto", "fp32", "fp16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--lora", o->lora, "A LoRA file to apply");
  cmd->add_option_function<double>(
      "--lora-scale",
      [o](double scale) {
        o->lora_scale = scale;
        o->lora_scale_given = true;
      },
      "The LoRA's strength, 0-2 (default 1; with --from, the picture's)");
  cmd->add_option("--from", o->from,
                  "Re-run the settings stored in a Pawtrait PNG; its model, VAE and LoRA are found by name and hash "
                  "near the picture, in the current folder and in the models folder, or where --model, --vae and "
                  "--lora say")
      ->check(CLI::ExistingFile);
  cmd->add_option("--init-latents", o->init_latents,
                  "Start from this noise: a .safetensors file with a tensor \"latents\" [n, C, H/f, W/f] (FLUX.2: the "
                  "patchified, normalised [n, 128, H/16, W/16] the reference pipeline takes as latents=)")
      ->check(CLI::ExistingFile);
  cmd->add_option(
      "--save-latents", o->save_latents,
      "Save the final latents (what the VAE decodes, as the reference's output_type=\"latent\") as a tensor "
      "\"latents\" in this .safetensors file");
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the written file names");
  cmd->callback([o] {
    const int code = run_generate(*o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace pawtrait::cli
