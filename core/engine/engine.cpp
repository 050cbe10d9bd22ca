#include "engine/engine.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "families/diffusion_model.h"
#include "families/model_family.h"
#include "models/model_fingerprint.h"
#include "pipeline/picture_files.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "runtime/runtime_info.h"
#include "schedulers/sampler_registry.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "training/dreambooth.h"
#include "training/run_settings.h"
#include "training/train_checkpoint.h"

namespace pawtrait::engine {
namespace {

namespace fs = std::filesystem;

std::uintmax_t size_on_disk(const fs::path& path) {
  std::error_code error;
  if (!fs::is_directory(path)) {
    const std::uintmax_t size = fs::file_size(path, error);
    return error ? 0 : size;
  }
  std::uintmax_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path, error)) {
    if (entry.is_regular_file(error)) total += entry.file_size(error);
  }
  return total;
}

void check_common(const pipeline::GenerateRequest& r) {
  if (r.count < 1 || r.count > 10000) {
    throw Error("the number of images must be between 1 and 10000; got " + std::to_string(r.count));
  }
  if (r.batch_size < 1 || r.batch_size > 64) {
    throw Error("the batch size must be between 1 and 64; got " + std::to_string(r.batch_size));
  }
}

void make_out_dir(const fs::path& out) {
  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw Error("cannot make the output folder " + out.string() + ": " + error.message());
}

at::Tensor read_latents(const fs::path& file) {
  const auto latents = tensors::SafetensorsFile::open(file);
  if (!latents.contains("latents")) throw Error(file.string() + " has no tensor named \"latents\"");
  return latents.tensor("latents").to(at::kFloat).clone();
}

// When a model's files last changed: a model retrained in place (the built-in model in the
// app) is loaded again, not served from the cache.
std::string stamp_of(const fs::path& path) {
  std::error_code error;
  fs::file_time_type newest = fs::last_write_time(path, error);
  if (fs::is_directory(path, error)) {
    for (const auto& entry : fs::directory_iterator(path, error)) {
      newest = std::max(newest, entry.last_write_time(error));
    }
  }
  return std::to_string(newest.time_since_epoch().count());
}

// The short hashes the pictures carry instead of the model's, the VAE's and the LoRAs' paths.
void fill_short_hashes(pipeline::GenerateRequest& r, const families::ModelFamily& family, const LogSink& log) {
  const fs::path cache = models::default_hash_cache();
  const auto on_slow = [&log](const std::string& line) { log_to(log, LogLevel::Info, line); };
  r.model_hash = models::short_hash(family.location(r.model), cache, on_slow);
  if (!r.vae.empty()) r.vae_hash = models::short_hash(r.vae, cache, on_slow);
  for (auto& lora : r.loras) lora.hash = models::short_hash(lora.path, cache, on_slow);
}

}  // namespace

// The model kept between generate jobs: a second Generate click does not load it again.
struct Engine::Loaded {
  std::string key;
  std::unique_ptr<families::DiffusionModel> model;
  std::unique_ptr<pipeline::TextToImage> sampler;
};

Engine::Engine() { runtime::configure_cpu_threads(); }
Engine::~Engine() = default;

ModelDescription Engine::describe(const fs::path& model) {
  const std::string name = model.string();
  const families::ModelFamily& family = families::family_of(name);
  const families::FamilyDescription what = family.describe(name, std::nullopt);
  ModelDescription d;
  d.family = what.family;
  d.prediction_type = what.prediction_type;
  d.image_size = what.image_size;
  d.sizes = what.sizes;
  d.sampler = what.sampler;
  d.steps = what.steps;
  d.size_conditioned = what.size_conditioned;
  d.guided = what.guided;
  d.guidance = what.guidance;
  d.vae_replaceable = what.vae_replaceable;
  d.clip_prompts = what.clip_prompts;
  d.bytes_on_disk = size_on_disk(family.location(name));
  const c10::Device device = family.cpu_only ? c10::Device(c10::kCPU) : runtime::choose_device("auto", "generating");
  d.device = device.is_cpu() ? "cpu" : "cuda";
  d.dtype = family.cpu_only ? "fp32" : runtime::dtype_name(runtime::choose_weights_dtype("auto", device));
  d.gradient_checkpointing = what.checkpoints_on_gpu && !device.is_cpu();
  return d;
}

GenerateResult Engine::generate(const GenerateJob& job, const GenerateEvents& events, const CancelToken& token) {
  pipeline::GenerateRequest request = job.request;
  if (request.model.empty()) {
    throw Error("no model given: choose a diffusers folder, a .safetensors file or a trained built-in model");
  }
  check_common(request);
  GenerateResult result;
  if (token.cancelled()) {  // stopped while it waited in the queue
    result.stopped = true;
    return result;
  }
  const families::ModelFamily& family = families::family_of(request.model);
  const c10::Device device =
      family.cpu_only ? c10::Device(c10::kCPU) : runtime::choose_device(request.device, "generating", events.log);
  const c10::ScalarType dtype = family.cpu_only ? c10::kFloat : runtime::choose_weights_dtype(request.dtype, device);
  request.device = device.is_cpu() ? "cpu" : "cuda";
  request.dtype = runtime::dtype_name(dtype);
  const std::string key = request.model + "|" + request.model_config + "|" + request.vae + "|" +
                          request.text_encoder_layers + "|" + request.device + "|" + request.dtype + "|" +
                          stamp_of(family.location(request.model)) +
                          (request.vae.empty() ? "" : "|" + stamp_of(request.vae));
  if (!loaded_ || loaded_->key != key) {
    loaded_.reset();  // the old model's memory first
    families::LoadOptions options;
    options.device = device;
    options.dtype = dtype;
    if (!request.model_config.empty()) options.model_config = request.model_config;
    if (!request.vae.empty()) options.vae = request.vae;
    if (!request.text_encoder_layers.empty()) {
      options.text_encoder_layers = pipeline::parse_text_encoder_layers(request.text_encoder_layers);
    }
    options.log = events.log;
    auto loaded = std::make_unique<Loaded>();
    loaded->key = key;
    loaded->model = family.load(request.model, options);
    loaded->sampler = std::make_unique<pipeline::TextToImage>(*loaded->model);
    loaded_ = std::move(loaded);
    log_to(events.log, LogLevel::Info,
           "generating on " + device.str() + " with " + request.dtype + " weights (" + loaded_->model->family() + ")");
  }
  families::DiffusionModel& model = *loaded_->model;
  const families::GenerateDefaults defaults = model.defaults();
  if (!model.prompted() && !request.prompt.empty()) {
    log_to(events.log, LogLevel::Info,
           "the " + model.family() + " model draws the pet it was trained on; the prompt is not used");
  }
  if (request.sampler.empty()) request.sampler = defaults.sampler;
  if (request.steps == 0) request.steps = defaults.steps;
  if (request.guidance == 0) request.guidance = defaults.guidance;
  if (request.width == 0 || defaults.size_fixed) request.width = defaults.size;
  if (request.height == 0 || defaults.size_fixed) request.height = defaults.size;
  loaded_->sampler->validate(request);
  fill_short_hashes(request, family, events.log);
  const at::Tensor init = job.init_latents.empty() ? at::Tensor() : read_latents(job.init_latents);
  make_out_dir(job.out_dir);
  if (events.on_start) events.on_start(request);

  std::vector<at::Tensor> latents;
  int index = pipeline::next_picture_index(job.out_dir);
  pipeline::GenerateCallbacks callbacks;
  callbacks.log = events.log;
  callbacks.cancel = &token.cancel;
  callbacks.on_step = events.on_step;
  callbacks.on_image = [&](const pipeline::GeneratedImage& image) {
    const fs::path file =
        pipeline::write_picture(job.out_dir, index, image.rgb, image.width, image.height, image.request);
    result.files.push_back(file);
    if (!job.save_latents.empty()) latents.push_back(image.latents);
    if (events.on_picture) events.on_picture({file, image.width, image.height, image.rgb, image.request});
  };
  loaded_->sampler->generate(request, callbacks, init);
  if (!job.save_latents.empty() && !latents.empty()) {
    tensors::write_safetensors(job.save_latents, {{"latents", at::cat(latents)}});
  }
  result.stopped = token.cancelled();
  return result;
}

TrainJob Engine::resume_job(const fs::path& run_dir, std::int64_t steps, const TrainJob* as_given) {
  TrainJob job;
  job.builtin = training::run_kind(run_dir) == "builtin";
  nlohmann::json saved, given;
  if (job.builtin) {
    job.pixel = training::read_pixel_run_request(run_dir);
    if (steps > 0) job.pixel.steps = steps;
    saved = job.pixel.to_json();
    if (as_given) given = as_given->pixel.to_json();
  } else {
    job.stable_diffusion = training::read_run_request(run_dir);
    job.stable_diffusion.resume = true;
    if (steps > 0) job.stable_diffusion.steps = steps;
    saved = job.stable_diffusion.to_json();
    if (as_given) given = as_given->stable_diffusion.to_json();
  }
  if (as_given == nullptr) return job;
  if (as_given->builtin != job.builtin) {
    throw Error("the run in " + run_dir.string() + " trained " +
                (job.builtin ? "the built-in model" : "a diffusion model with DreamBooth") + ", not " +
                (as_given->builtin ? "the built-in model" : "a diffusion model with DreamBooth") +
                "; resume it with its own model, or start a new run in another folder");
  }
  const std::vector<std::string> differences = training::setting_differences(saved, given);
  if (!differences.empty()) {
    std::string message = "the run in " + run_dir.string() + " was made with other settings than this command's:";
    for (const auto& d : differences) message += "\n  " + d;
    throw Error(message +
                "\nresume it with its own settings (only the step count may change), or start a new run "
                "in another folder");
  }
  return job;
}

TrainOutcome Engine::train(const TrainJob& job, const TrainEvents& events, const CancelToken& token) {
  training::TrainCallbacks callbacks;
  callbacks.cancel = &token.cancel;
  callbacks.pause = &token.pause;
  callbacks.log = events.log;
  callbacks.on_progress = events.on_progress;
  callbacks.on_preview = events.on_preview;
  TrainOutcome outcome;
  if (token.cancelled()) {
    outcome.stopped = true;
    return outcome;
  }
  if (job.builtin) {
    const std::int64_t resolution = job.pixel.model.resolution;
    if (resolution != 64 && resolution != 32) {
      throw Error("the built-in model trains at a resolution of 64 or 32; got " + std::to_string(resolution));
    }
    const auto result = training::train_pixel_model(job.pixel, callbacks);
    outcome.made = result.weights;
    outcome.steps_done = result.steps_done;
    outcome.skipped_photos = result.skipped_photos;
    outcome.stopped = token.cancelled();
    return outcome;
  }
  loaded_.reset();  // training loads its own copy; free the generator's
  const auto result = training::train_dreambooth(job.stable_diffusion, callbacks);
  // The A1111/ComfyUI file where the family writes one (FLUX.2 writes the diffusers layout only).
  outcome.made = job.stable_diffusion.mode == "full" ? result.model_dir
                 : result.lora_kohya.empty()         ? result.lora_peft
                                                     : result.lora_kohya;
  outcome.lora_peft = result.lora_peft;
  outcome.generate_with = result.generate_with;
  outcome.steps_done = result.steps_done;
  outcome.skipped_photos = result.skipped_photos;
  outcome.stopped = result.stopped;
  return outcome;
}

}  // namespace pawtrait::engine
