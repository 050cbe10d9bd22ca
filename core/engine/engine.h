#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "families/builtin/pixel_trainer.h"
#include "pipeline/generate_request.h"
#include "pipeline/step_progress.h"
#include "training/train_events.h"
#include "training/train_request.h"

namespace pawtrait::engine {

// Stop and pause for one job. Whoever queues a job makes its token, so a Stop pressed
// before the job starts still stops it; the engine checks it between steps and inside every
// long operation (loading, encoding photos, previews).
struct CancelToken {
  std::atomic<bool> cancel{false};
  std::atomic<bool> pause{false};
  bool cancelled() const { return cancel.load(); }
};

// What a model is, for the model picker and `pawtrait-cli info`.
struct ModelDescription {
  std::string family;                                        // "Stable Diffusion 1.x", "built-in", ...
  std::string prediction_type;                               // epsilon | v_prediction
  std::int64_t image_size = 0;                               // its native picture size
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;  // the usual (width, height), native first
  std::uintmax_t bytes_on_disk = 0;
  std::string device;    // where it would run now: "cuda" or "cpu"
  std::string dtype;     // with which weights: "bf16", "fp16", "fp32"
  bool prompted = true;  // prompts steer it (false for the unconditional built-in model)
  std::string sampler;   // what generating uses unless told otherwise, and with how many steps
  std::int64_t steps = 0;
  bool size_conditioned = false;        // reads SDXL's micro-conditioning sizes
  bool guided = true;                   // classifier-free guidance applies (not to a distilled model)
  double guidance = 7.5;                // its pipeline's default scale
  bool vae_replaceable = true;          // another VAE may decode its pictures (--vae)
  bool clip_prompts = true;             // prompts go through CLIP's tokenizer (--prompt-cleanup applies)
  bool gradient_checkpointing = false;  // its training checkpoints by default on this device
};

// A text-to-image job: the request, and where its pictures go (NNNNN-<seed>.png, never
// overwriting). `init_latents` / `save_latents`: .safetensors files with a tensor "latents".
struct GenerateJob {
  pipeline::GenerateRequest request;
  std::filesystem::path out_dir;
  std::filesystem::path init_latents;
  std::filesystem::path save_latents;
};

// Which image of how many, which step of how many: the pipeline's own progress record.
using GenerateStep = pipeline::StepProgress;

// One finished, written picture: 8-bit RGB, row-major, with the request that made it alone.
struct Picture {
  std::filesystem::path file;
  std::int64_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
  pipeline::GenerateRequest request;
};

struct GenerateEvents {
  std::function<void(const pipeline::GenerateRequest&)> on_start;  // the request as it runs (defaults filled)
  std::function<void(const GenerateStep&)> on_step;
  std::function<void(const Picture&)> on_picture;
  LogSink log;
};

struct GenerateResult {
  std::vector<std::filesystem::path> files;
  bool stopped = false;  // cancelled: the pictures finished before are kept
};

// A training job: the built-in model or a Stable Diffusion model.
struct TrainJob {
  bool builtin = true;
  training::PixelTrainRequest pixel;
  training::TrainRequest stable_diffusion;
};

struct TrainEvents {
  std::function<void(const training::TrainProgress&)> on_progress;
  std::function<void(const training::TrainPreview&)> on_preview;
  LogSink log;
};

struct TrainOutcome {
  std::filesystem::path made;  // the LoRA file, the fine-tuned model folder, or the built-in weights
  std::filesystem::path lora_peft;
  std::filesystem::path generate_with;  // the model to draw with, when not the trained one
  std::int64_t steps_done = 0;
  bool stopped = false;
  std::vector<std::string> skipped_photos;
};

// The one way into the engine (DESIGN.md, "One engine, many model families"): the desktop
// app's worker and every CLI command are thin adapters over it. It owns model loading and a
// small cache (the last model used for generating stays loaded for the next job), the
// device and precision choice ("auto": CUDA when there, bf16 where supported, else fp16;
// CPU float32), CPU thread setup, the validation of every request field, and the output
// files. Jobs run on the caller's thread, one at a time; errors are pawtrait::Error.
class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  ModelDescription describe(const std::filesystem::path& model);
  GenerateResult generate(const GenerateJob& job, const GenerateEvents& events, const CancelToken& token);
  TrainOutcome train(const TrainJob& job, const TrainEvents& events, const CancelToken& token);

  // The job that continues the run in `run_dir` with its saved settings; `steps` > 0 changes
  // the total. `as_given`, when set, is what the original command describes, re-run with
  // resume: a setting that differs from the run's saved one is refused, naming each.
  static TrainJob resume_job(const std::filesystem::path& run_dir, std::int64_t steps, const TrainJob* as_given);

 private:
  struct Loaded;
  std::unique_ptr<Loaded> loaded_;
};

}  // namespace pawtrait::engine
