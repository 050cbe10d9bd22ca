#include "cli/train_command.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/error.h"
#include "runtime/runtime_info.h"
#include "training/pixel_trainer.h"

namespace pawtrait::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_train_interrupt(int) {
  if (g_stop.exchange(true)) std::_Exit(130);
}

struct TrainOptions {
  std::vector<std::string> photos;
  std::string model = "builtin";
  std::string out;
  training::PixelTrainRequest pixel;
  bool quiet = false;
};

int run_train(TrainOptions o) {
  if (o.model != "builtin") {
    throw Error("training Stable Diffusion models (DreamBooth/LoRA) is not in this build yet; use --model builtin");
  }
  if (o.photos.empty()) throw Error("no photos given: pass --photos with photo files or a folder");
  if (o.out.empty()) throw Error("no run folder given: pass --out RUN_DIR");
  training::PixelTrainRequest request = o.pixel;
  for (const auto& p : o.photos) request.photos.emplace_back(p);
  request.run_dir = o.out;
  const int threads = runtime::configure_cpu_threads();

  const bool terminal = !o.quiet && ::isatty(STDERR_FILENO) != 0;
  training::TrainCallbacks callbacks;
  callbacks.cancel = &g_stop;
  callbacks.log = [&](LogLevel level, const std::string& line) {
    if (!o.quiet) std::cerr << (level == LogLevel::Warning ? "warning: " : "") << line << '\n';
  };
  callbacks.on_progress = [&](const training::TrainProgress& p) {
    if (terminal) {
      std::fprintf(stderr, "\r  step %lld/%lld  loss %.4f (smoothed %.4f)  %.1f it/s  ETA %d:%02d   ",
                   static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, p.smoothed_loss, p.it_per_s,
                   static_cast<int>(p.eta_seconds) / 60, static_cast<int>(p.eta_seconds) % 60);
    } else if (!o.quiet && p.validation_loss >= 0) {
      std::fprintf(stderr, "step %lld/%lld  smoothed loss %.4f  validation loss %.4f  %.1f it/s\n",
                   static_cast<long long>(p.step), static_cast<long long>(p.steps), p.smoothed_loss, p.validation_loss,
                   p.it_per_s);
    }
  };
  callbacks.on_preview = [&](const training::TrainPreview& preview) {
    if (!o.quiet) {
      std::fprintf(stderr, "%spreview at step %lld in %s/previews\n", terminal ? "\n" : "",
                   static_cast<long long>(preview.step), o.out.c_str());
    }
  };
  if (!o.quiet) std::cerr << "training on the CPU with " << threads << " threads\n";
  std::signal(SIGINT, on_train_interrupt);
  const auto result = training::train_pixel_model(request, callbacks);
  std::signal(SIGINT, SIG_DFL);
  if (terminal) std::cerr << '\n';
  std::cout << result.weights.string() << std::endl;
  if (!o.quiet) {
    std::cerr << "trained " << result.steps_done
              << " steps; generate with:\n  pawtrait-cli generate --model builtin:" << o.out << " -n 4 --out " << o.out
              << "/samples\n";
  }
  return g_stop ? 130 : 0;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Teach a model your pet from its photos");
  cmd->add_option("--photos", o->photos, "Photo files or folders of them")->required();
  cmd->add_option("--model", o->model, "builtin (the small model that trains on the CPU)")->capture_default_str();
  cmd->add_option("--out", o->out, "The run folder: settings, model, previews, loss.csv")->required();
  auto& p = o->pixel;
  cmd->add_option("--steps", p.steps, "Training steps")->capture_default_str();
  cmd->add_option("--batch", p.batch_size, "Photos per step")->capture_default_str();
  cmd->add_option("--lr", p.learning_rate, "Learning rate")->capture_default_str();
  cmd->add_option("--seed", p.seed, "Seed (the same seed gives the same run on the CPU)")->capture_default_str();
  cmd->add_option("--resolution", p.model.resolution, "Image size of the built-in model: 64 or 32")
      ->check(CLI::IsMember({64, 32}))
      ->capture_default_str();
  cmd->add_option("--preview-every", p.preview_every, "Preview pictures every K steps (0: never)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", p.checkpoint_every, "Save the model every K steps")->capture_default_str();
  cmd->add_option("--validate-every", p.validate_every, "Validation loss every K steps")->capture_default_str();
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the model file");
  cmd->callback([o] {
    const int code = run_train(*o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace pawtrait::cli
