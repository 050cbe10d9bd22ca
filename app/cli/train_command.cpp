#include "cli/train_command.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "common/error.h"
#include "engine/engine.h"
#include "runtime/runtime_info.h"

namespace pawtrait::cli {
namespace {

engine::CancelToken g_token;
extern "C" void on_train_interrupt(int) {
  if (g_token.cancel.exchange(true)) std::_Exit(130);
}

// Settings both trainers have; unset ones keep each trainer's own default.
struct CommonOptions {
  std::optional<std::int64_t> steps, batch, resolution, preview_every, checkpoint_every, validate_every;
  std::optional<double> lr;
  std::optional<std::uint64_t> seed;
};

struct TrainOptions {
  std::vector<std::string> photos;
  std::string model = "builtin";
  std::string out;
  CommonOptions common;
  training::TrainRequest sd;
  std::string model_config;
  std::string class_images;
  bool quiet = false;
};

template <typename T, typename U>
void apply(const std::optional<T>& given, U& field) {
  if (given) field = static_cast<U>(*given);
}

engine::TrainEvents make_events(const TrainOptions& o, bool terminal) {
  engine::TrainEvents events;
  events.log = [quiet = o.quiet, terminal](LogLevel level, const std::string& line) {
    if (quiet) return;
    std::cerr << (terminal ? "\r\033[K" : "") << (level == LogLevel::Warning ? "warning: " : "") << line << '\n';
  };
  events.on_progress = [quiet = o.quiet, terminal](const training::TrainProgress& p) {
    if (terminal) {
      const int width = 24;
      const int filled = static_cast<int>(width * p.step / std::max<std::int64_t>(p.steps, 1));
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r\033[K  [%s] %lld/%lld  loss %.4f (smoothed %.4f)  %.2f it/s  ETA %d:%02d", bar.c_str(),
                   static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, p.smoothed_loss, p.it_per_s,
                   static_cast<int>(p.eta_seconds) / 60, static_cast<int>(p.eta_seconds) % 60);
    } else if (!quiet && (p.validation_loss >= 0 || p.step == p.steps)) {
      // Into a log: the validation steps and the last one, with the run's speed.
      std::fprintf(stderr, "step %lld/%lld  smoothed loss %.4f", static_cast<long long>(p.step),
                   static_cast<long long>(p.steps), p.smoothed_loss);
      if (p.validation_loss >= 0) std::fprintf(stderr, "  validation loss %.4f", p.validation_loss);
      std::fprintf(stderr, "  %.2f it/s\n", p.it_per_s);
    }
  };
  events.on_preview = [quiet = o.quiet, terminal, out = o.out](const training::TrainPreview& preview) {
    if (!quiet) {
      std::fprintf(stderr, "%spreview at step %lld in %s/previews\n", terminal ? "\r\033[K" : "",
                   static_cast<long long>(preview.step), out.c_str());
    }
  };
  return events;
}

// The job this command line describes, as a fresh run would start it.
engine::TrainJob described_job(const TrainOptions& o) {
  engine::TrainJob job;
  job.builtin = o.model == "builtin";
  std::vector<std::filesystem::path> photos(o.photos.begin(), o.photos.end());
  const CommonOptions& c = o.common;
  if (job.builtin) {
    training::PixelTrainRequest& r = job.pixel;
    r.photos = photos;
    r.run_dir = o.out;
    apply(c.steps, r.steps);
    apply(c.batch, r.batch_size);
    apply(c.lr, r.learning_rate);
    apply(c.seed, r.seed);
    apply(c.resolution, r.model.resolution);
    apply(c.preview_every, r.preview_every);
    apply(c.checkpoint_every, r.checkpoint_every);
    apply(c.validate_every, r.validate_every);
    return job;
  }
  training::TrainRequest& r = job.stable_diffusion;
  r = o.sd;
  r.resume = false;
  r.photos = photos;
  r.model = o.model;
  r.model_config = o.model_config;
  r.class_images_dir = o.class_images;
  r.run_dir = o.out;
  apply(c.steps, r.steps);
  apply(c.batch, r.batch_size);
  apply(c.lr, r.learning_rate);
  apply(c.seed, r.seed);
  apply(c.resolution, r.resolution);
  apply(c.preview_every, r.preview_every);
  apply(c.checkpoint_every, r.checkpoint_every);
  apply(c.validate_every, r.validate_every);
  return job;
}

void report(const TrainOptions& o, const engine::TrainJob& job, const engine::TrainOutcome& outcome) {
  if (outcome.made.empty()) {  // stopped before the first step
    if (!o.quiet) std::cerr << "stopped before training began; nothing was trained\n";
    return;
  }
  std::cout << outcome.made.string() << std::endl;
  if (o.quiet) return;
  if (outcome.stopped) {
    std::cerr << "stopped after step " << outcome.steps_done << "; continue with:\n  pawtrait-cli train --out " << o.out
              << " --resume\n";
    return;
  }
  std::cerr << "trained " << outcome.steps_done << " steps.\n";
  if (job.builtin) {
    std::cerr << "Generate with:\n  pawtrait-cli generate --model builtin:" << o.out << " -n 4 --out " << o.out
              << "/samples\n";
    return;
  }
  const training::TrainRequest& r = job.stable_diffusion;
  if (r.mode == "full") {
    std::cerr << "The fine-tuned model is in " << outcome.made.string()
              << "; generate with:\n  pawtrait-cli generate --model " << outcome.made.string() << " --prompt \""
              << r.instance_prompt() << "\"\n";
  } else if (outcome.made == outcome.lora_peft) {  // one file for every tool (FLUX.2)
    const std::filesystem::path model = outcome.generate_with.empty() ? r.model : outcome.generate_with;
    std::cerr << "The LoRA: " << outcome.made.string() << " (diffusers layout: diffusers, ComfyUI); generate with:\n"
              << "  pawtrait-cli generate --model " << model.string() << " --lora " << outcome.made.string()
              << " --prompt \"" << r.instance_prompt() << "\"\n";
  } else {
    std::cerr << "The LoRA: " << outcome.made.string() << " (Automatic1111, ComfyUI) and " << outcome.lora_peft.string()
              << " (diffusers); generate with:\n  pawtrait-cli generate --model " << r.model.string() << " --lora "
              << outcome.made.string() << " --prompt \"" << r.instance_prompt() << "\"\n";
  }
}

int run_train(const TrainOptions& o) {
  if (o.out.empty()) throw Error("no run folder given: pass --out RUN_DIR");
  if (!o.sd.resume && o.photos.empty()) throw Error("no photos given: pass --photos with photo files or a folder");
  engine::TrainJob job;
  if (o.sd.resume) {
    // `--out RUN --resume` alone continues with the run's own settings; the original command
    // with --resume added must describe the same run.
    std::optional<engine::TrainJob> given;
    if (!o.photos.empty()) given = described_job(o);
    job = engine::Engine::resume_job(o.out, o.common.steps.value_or(0), given ? &*given : nullptr);
  } else {
    job = described_job(o);
  }
  const bool terminal = !o.quiet && ::isatty(STDERR_FILENO) != 0;
  engine::Engine engine;
  if (!o.quiet) std::cerr << "CPU threads: " << runtime::query_runtime().cpu_threads << "\n";
  std::signal(SIGINT, on_train_interrupt);
  const engine::TrainOutcome outcome = engine.train(job, make_events(o, terminal), g_token);
  std::signal(SIGINT, SIG_DFL);
  if (terminal) std::cerr << '\n';
  report(o, job, outcome);
  return outcome.stopped || g_token.cancelled() ? 130 : 0;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Teach a model your pet from its photos");
  cmd->add_option("--photos", o->photos, "Photo files or folders of them");
  cmd->add_option("--model", o->model,
                  "builtin (the small model that trains on the CPU), or a Stable Diffusion folder or .safetensors file")
      ->capture_default_str();
  cmd->add_option("--model-config", o->model_config, "A diffusers-style folder of configs for a single-file model");
  cmd->add_option("--out", o->out, "The run folder: settings, checkpoints, previews, loss.csv, the result")->required();
  auto& c = o->common;
  cmd->add_option("--steps", c.steps, "Training steps (builtin: 1000, Stable Diffusion: 400)");
  cmd->add_option("--batch", c.batch, "Photos per step (builtin: 8, Stable Diffusion: 1)");
  cmd->add_option("--lr", c.lr, "Learning rate (builtin: 1e-3; LoRA: 1e-4; full: 5e-6)");
  cmd->add_option("--seed", c.seed, "Seed (the same seed gives the same run on the CPU)");
  cmd->add_option("--resolution", c.resolution, "Training size (builtin: 64 or 32; Stable Diffusion: the model's)");
  cmd->add_option("--preview-every", c.preview_every, "Preview pictures every K steps (0: never)");
  cmd->add_option("--checkpoint-every", c.checkpoint_every, "Save a checkpoint every K steps");
  cmd->add_option("--validate-every", c.validate_every, "Validation loss every K steps");
  auto& r = o->sd;
  const std::string sd = "Stable Diffusion";
  cmd->add_option("--token", r.token, "The word that will mean your pet")->capture_default_str()->group(sd);
  cmd->add_option("--class", r.class_name, "What your pet is: dog, cat, rabbit, ...")->capture_default_str()->group(sd);
  cmd->add_option("--mode", r.mode, "lora (small file, default) or full (fine-tune the whole UNet)")
      ->check(CLI::IsMember({"lora", "full"}))
      ->capture_default_str()
      ->group(sd);
  cmd->add_option("--rank", r.rank, "LoRA rank")->capture_default_str()->group(sd);
  cmd->add_option("--alpha", r.alpha, "LoRA alpha (scale = alpha / rank)")->capture_default_str()->group(sd);
  cmd->add_option("--lora-targets", r.lora_targets,
                  "UNet modules that get adapters (to_q to_k to_v to_out.0; also ff.net.0.proj ff.net.2, and proj_in "
                  "proj_out on SD 2.x)")
      ->group(sd);
  cmd->add_flag("--train-text-encoder", r.train_text_encoder, "LoRA on the text encoder too")->group(sd);
  cmd->add_option("--text-encoder-targets", r.text_encoder_targets, "Text-encoder modules that get adapters")
      ->group(sd);
  cmd->add_option("--lr-schedule", r.lr_schedule, "constant or cosine after the warm-up")
      ->check(CLI::IsMember({"constant", "cosine"}))
      ->capture_default_str()
      ->group(sd);
  cmd->add_option("--warmup", r.warmup_steps, "Warm-up steps")->capture_default_str()->group(sd);
  cmd->add_option("--grad-accum", r.grad_accum, "Batches per optimizer step")->capture_default_str()->group(sd);
  cmd->add_option("--max-grad-norm", r.max_grad_norm, "Gradient clipping (0: off)")->capture_default_str()->group(sd);
  cmd->add_option("--noise-offset", r.noise_offset, "Noise offset (0: off)")->capture_default_str()->group(sd);
  cmd->add_option("--crop", r.crop,
                  "buckets: each photo keeps its shape (an aspect-ratio bucket at the training size's pixel count); "
                  "square: the centre square, as diffusers' scripts train")
      ->check(CLI::IsMember({"buckets", "square"}))
      ->capture_default_str()
      ->group(sd);
  cmd->add_flag("--masked-loss", r.masked_loss,
                "Weight the loss towards the pet: each photo's NAME-masklabel.png (white = pet) or its suggested "
                "subject box")
      ->group(sd);
  cmd->add_option("--mask-background-weight", r.mask_background_weight,
                  "With --masked-loss, how much the background counts (0 to 1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group(sd);
  cmd->add_flag("!--no-flip", r.flip, "Don't mirror the photos")->group(sd);
  cmd->add_flag("!--no-cache-latents", r.cache_latents, "Encode the photos at every step instead of once")->group(sd);
  cmd->add_option("--prior", r.prior_count, "Class images for prior preservation (0: off)")
      ->capture_default_str()
      ->group(sd);
  cmd->add_option("--prior-weight", r.prior_weight, "Weight of the prior-preservation loss")
      ->capture_default_str()
      ->group(sd);
  cmd->add_option("--class-images", o->class_images, "Folder for the class images (default: a shared cache)")
      ->group(sd);
  cmd->add_option("--mixed-precision", r.mixed_precision, "auto, no, fp16 or bf16 (CUDA)")
      ->check(CLI::IsMember({"auto", "no", "fp16", "bf16"}))
      ->capture_default_str()
      ->group(sd);
  cmd->add_flag_callback(
         "--gradient-checkpointing", [o] { o->sd.gradient_checkpointing = true; },
         "Recompute activations in the backward pass: less memory, slower (1.4x on the CPU); FLUX.2 [klein] on a "
         "GPU does it unless told otherwise")
      ->group(sd);
  cmd->add_flag_callback(
         "--no-gradient-checkpointing", [o] { o->sd.gradient_checkpointing = false; },
         "Keep the activations (faster, more memory)")
      ->group(sd);
  cmd->add_option("--preview-steps", r.preview_steps,
                  "Sampling steps of each preview picture (a step-distilled model draws in its own)")
      ->capture_default_str()
      ->group(sd);
  cmd->add_option("--preview-model", r.preview_model,
                  "FLUX.2 [klein] base: the model the previews are drawn with (auto: a distilled klein beside the "
                  "base; none: the base; or a folder)")
      ->capture_default_str()
      ->group(sd);
  cmd->add_flag("--ema", r.ema, "Keep an exponential moving average of the trained weights")->group(sd);
  cmd->add_option("--device", r.device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str()
      ->group(sd);
  cmd->add_flag("--resume", r.resume, "Continue the run in --out from its newest checkpoint")->group(sd);
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the result's path");
  cmd->callback([o] {
    const int code = run_train(*o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace pawtrait::cli
