// Pawtrait's side of the side-by-side benchmarks (tests/bench/run): the workloads of
// reference_bench.py, through the engine's own code paths, one workload per process, for any
// family the registry knows (Stable Diffusion 1.x/2.x and SDXL shapes here). Each
// prints one JSON line, {"seconds": [one per timed repetition], "peak_rss_mib": ...}, the
// peak RSS read at the end as the reference's side reads it (VmHWM).
//   side_by_side_bench load MODEL
//   side_by_side_bench unet_forward MODEL INPUTS REPS OUT
//   side_by_side_bench train MODEL PHOTOS lora|full STEPS RESOLUTION
//   side_by_side_bench sample MODEL INPUTS STEPS REPS OUT
//   side_by_side_bench transformer_load MODEL            (FLUX.2 [klein]: MODEL/transformer alone)
//   side_by_side_bench transformer_forward MODEL INPUTS REPS OUT
// The transformer workloads run in PAWTRAIT_BENCH_DTYPE (fp32 by default; bf16 for the
// klein-4B shape, whose file is bf16: 15.5 GB in float32 would not leave room for the reference).
// PAWTRAIT_BENCH_DEVICE=cuda runs them on the GPU: the UNet and sampling in float16,
// training with PAWTRAIT_BENCH_PRECISION (bf16 by default) autocast and, with
// PAWTRAIT_BENCH_CHECKPOINTING=1, gradient checkpointing; the line then also has
// "peak_gpu_mib", the CUDA caching allocator's peak of allocated bytes. PAWTRAIT_BENCH_PROFILE=FILE
// makes unet_forward run once more under LibTorch's profiler and write its trace there (the
// reference side writes the same operators' totals), to see where two timings part.
#include <ATen/ATen.h>
#include <c10/core/CachingDeviceAllocator.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "families/diffusion_model.h"
#include "families/flux2/flux2_transformer.h"
#include "families/model_family.h"
#include "models/component_loader.h"
#include "peak_rss.h"
#include "pipeline/text_to_image.h"
#include "runtime/runtime_info.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "train_timing.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != 0 ? value : fallback;
}

bool on_gpu() { return env_or("PAWTRAIT_BENCH_DEVICE", "cpu") == "cuda"; }

// Work queued on the GPU is finished before a clock is read.
void synchronize() {
  if (on_gpu()) c10::impl::getDeviceGuardImpl(c10::kCUDA)->synchronizeDevice(0);
}

std::string json_list(const std::vector<double>& values);

// The result line: timed repetitions, this process's peak RSS (and on the GPU the caching
// allocator's peak) and any extra fields.
void emit(const std::vector<double>& seconds, const std::string& extra = "") {
  std::cout << "{\"seconds\": " << json_list(seconds) << ", \"peak_rss_mib\": " << peak_rss_mib();
  if (on_gpu()) {
    const auto stats = c10::getDeviceAllocator(c10::kCUDA)->getDeviceStats(0);
    const auto aggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    std::cout << ", \"peak_gpu_mib\": "
              << static_cast<double>(stats.allocated_bytes[aggregate].peak) / (1024.0 * 1024.0);
  }
  std::cout << extra << "}" << std::endl;
}

std::string json_list(const std::vector<double>& values) {
  std::ostringstream out;
  out.precision(9);
  out << '[';
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << ']';
  return out.str();
}

// The model as generating loads it: every component and the tokenizers, ready to draw.
std::unique_ptr<pawtrait::families::DiffusionModel> load_model(const fs::path& model) {
  pawtrait::families::LoadOptions options;
  if (on_gpu()) {
    options.device = c10::Device(c10::kCUDA, 0);
    options.dtype = at::kHalf;
  }
  return pawtrait::families::family_of(model.string()).load(model.string(), options);
}

int load(const fs::path& model) {
  const auto start = Clock::now();
  const auto loaded = load_model(model);
  emit({seconds_since(start)});
  return 0;
}

int unet_forward(const fs::path& model, const fs::path& inputs, int reps, const fs::path& out) {
  pawtrait::models::ComponentLoadOptions options;
  if (on_gpu()) {
    options.device = c10::Device(c10::kCUDA, 0);
    options.dtype = at::kHalf;
  }
  pawtrait::models::UNet2DConditionModel unet = pawtrait::models::load_unet(model / "unet", options);
  const auto file = pawtrait::tensors::SafetensorsFile::open(inputs);
  const at::Tensor sample = file.tensor("sample").to(options.device, options.dtype);
  const at::Tensor context = file.tensor("encoder_hidden_states").to(options.device, options.dtype);
  const at::Tensor t = file.tensor("timestep").to(options.device);
  // SDXL's added conditioning: the pooled text vector and the six size ids.
  at::Tensor text_embeds, time_ids;
  if (file.contains("text_embeds")) {
    text_embeds = file.tensor("text_embeds").to(options.device, options.dtype);
    time_ids = file.tensor("time_ids").to(options.device, options.dtype);
  }
  std::vector<double> seconds;
  at::Tensor result;
  {
    c10::InferenceMode inference;
    unet->forward(sample, t, context, text_embeds, time_ids);  // warm-up, not timed
    for (int i = 0; i < reps; ++i) {
      synchronize();
      const auto start = Clock::now();
      result = unet->forward(sample, t, context, text_embeds, time_ids);
      synchronize();
      seconds.push_back(seconds_since(start));
    }
    if (const std::string trace = env_or("PAWTRAIT_BENCH_PROFILE", ""); !trace.empty()) {
      torch::autograd::profiler::RecordProfile profile(trace);
      unet->forward(sample, t, context, text_embeds, time_ids);
    }
  }
  pawtrait::tensors::write_safetensors(out, {{"out", result.to(at::kCPU, at::kFloat).contiguous()}});
  emit(seconds);
  return 0;
}

// The transformer workloads' placement: PAWTRAIT_BENCH_DEVICE and PAWTRAIT_BENCH_DTYPE.
pawtrait::models::ComponentLoadOptions transformer_options() {
  pawtrait::models::ComponentLoadOptions options;
  if (on_gpu()) options.device = c10::Device(c10::kCUDA, 0);
  const std::string dtype = env_or("PAWTRAIT_BENCH_DTYPE", on_gpu() ? "bf16" : "fp32");
  if (dtype == "bf16") {
    options.dtype = at::kBFloat16;
  } else if (dtype != "fp32") {
    throw std::runtime_error("PAWTRAIT_BENCH_DTYPE is fp32 or bf16, not " + dtype);
  }
  return options;
}

int transformer_load(const fs::path& model) {
  const auto start = Clock::now();
  const auto transformer = pawtrait::families::load_flux2_transformer(model / "transformer", transformer_options());
  synchronize();
  emit({seconds_since(start)});
  return 0;
}

// One denoising call as the pipeline makes it: packed image tokens, the stacked text states,
// σ as the timestep (in the model's dtype), the position ids.
int transformer_forward(const fs::path& model, const fs::path& inputs, int reps, const fs::path& out) {
  const auto options = transformer_options();
  auto transformer = pawtrait::families::load_flux2_transformer(model / "transformer", options);
  const auto file = pawtrait::tensors::SafetensorsFile::open(inputs);
  const auto dtype = at::TensorOptions().device(options.device).dtype(options.dtype);
  const at::Tensor hidden = file.tensor("hidden_states").to(dtype);
  const at::Tensor context = file.tensor("encoder_hidden_states").to(dtype);
  const at::Tensor timestep = file.tensor("timestep").to(dtype);
  const at::Tensor img_ids = file.tensor("img_ids").to(options.device);
  const at::Tensor txt_ids = file.tensor("txt_ids").to(options.device);
  std::vector<double> seconds;
  at::Tensor result;
  {
    c10::InferenceMode inference;
    transformer->forward(hidden, context, timestep, img_ids, txt_ids);  // warm-up, not timed
    for (int i = 0; i < reps; ++i) {
      synchronize();
      const auto start = Clock::now();
      result = transformer->forward(hidden, context, timestep, img_ids, txt_ids);
      synchronize();
      seconds.push_back(seconds_since(start));
    }
  }
  pawtrait::tensors::write_safetensors(out, {{"out", result.to(at::kCPU, at::kFloat).contiguous()}});
  emit(seconds);
  return 0;
}

int train(const fs::path& model, const fs::path& photos, const std::string& mode, std::int64_t steps,
          std::int64_t resolution) {
  const fs::path run = fs::temp_directory_path() / ("pawtrait-side-by-side-" + std::to_string(::getpid()));
  fs::remove_all(run);
  pawtrait::training::TrainRequest r;
  r.model = model;
  r.photos = {photos};
  r.mode = mode;
  r.steps = steps;
  r.resolution = resolution;
  r.run_dir = run;
  r.device = on_gpu() ? "cuda" : "cpu";
  if (on_gpu()) {
    r.mixed_precision = env_or("PAWTRAIT_BENCH_PRECISION", "bf16");
    r.gradient_checkpointing = env_or("PAWTRAIT_BENCH_CHECKPOINTING", "0") == "1";
  }
  r.preview_every = 0;
  r.validate_every = 0;
  r.checkpoint_every = 0;
  const TrainTiming timing = time_training(r);
  fs::remove_all(run);
  std::vector<double> after_first(timing.step_seconds.begin() + (timing.step_seconds.size() > 1 ? 1 : 0),
                                  timing.step_seconds.end());
  emit(after_first, ", \"total_seconds\": " + std::to_string(timing.total_seconds));
  return 0;
}

int sample(const fs::path& model, const fs::path& inputs, std::int64_t steps, int reps, const fs::path& out) {
  const auto diffusion = load_model(model);
  pawtrait::pipeline::TextToImage t2i(*diffusion);
  const at::Tensor noise = pawtrait::tensors::SafetensorsFile::open(inputs).tensor("sample_noise").clone();
  const std::int64_t scale = diffusion->latent_format().spatial_factor;
  pawtrait::pipeline::GenerateRequest r;
  r.model = model.string();
  r.prompt = "a photo of sks dog in the snow";
  r.negative_prompt = "blurry";
  r.sampler = "dpmpp_2m";
  r.steps = steps;
  r.guidance = 7.5;
  r.device = on_gpu() ? "cuda" : "cpu";
  r.dtype = on_gpu() ? "fp16" : "fp32";
  r.height = noise.size(2) * scale;
  r.width = noise.size(3) * scale;
  pawtrait::pipeline::GenerateRequest warm_up = r;
  warm_up.steps = 1;
  t2i.generate(warm_up, {}, noise);  // warm-up (one step and the decode), not timed
  std::vector<double> seconds;
  std::vector<pawtrait::pipeline::GeneratedImage> images;
  for (int i = 0; i < reps; ++i) {
    t2i.forget_prompts();  // each run encodes its prompts, as the reference's does
    const auto start = Clock::now();
    images = t2i.generate(r, {}, noise);  // ends with the decoded pixels on the CPU
    seconds.push_back(seconds_since(start));
  }
  const auto& image = images.at(0);
  at::Tensor rgb = at::from_blob(const_cast<std::uint8_t*>(image.rgb.data()), {image.height, image.width, 3}, at::kByte)
                       .to(at::kFloat)
                       .div(255.0);
  pawtrait::tensors::write_safetensors(out, {{"out", rgb.contiguous()}});
  emit(seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: side_by_side_bench load MODEL | unet_forward MODEL INPUTS REPS OUT |"
      " train MODEL PHOTOS lora|full STEPS RESOLUTION | sample MODEL INPUTS STEPS REPS OUT |"
      " transformer_load MODEL | transformer_forward MODEL INPUTS REPS OUT\n";
  if (argc < 3) {
    std::cerr << usage;
    return 2;
  }
  const char* threads = std::getenv("PAWTRAIT_BENCH_THREADS");
  pawtrait::runtime::configure_cpu_threads(threads ? std::atoi(threads) : 0);
  const std::string workload = argv[1];
  try {
    if (workload == "load") return load(argv[2]);
    if (workload == "unet_forward" && argc == 6) return unet_forward(argv[2], argv[3], std::atoi(argv[4]), argv[5]);
    if (workload == "train" && argc == 7)
      return train(argv[2], argv[3], argv[4], std::stoll(argv[5]), std::stoll(argv[6]));
    if (workload == "transformer_load") return transformer_load(argv[2]);
    if (workload == "transformer_forward" && argc == 6)
      return transformer_forward(argv[2], argv[3], std::atoi(argv[4]), argv[5]);
    if (workload == "sample" && argc == 7)
      return sample(argv[2], argv[3], std::stoll(argv[4]), std::atoi(argv[5]), argv[6]);
  } catch (const std::exception& e) {
    std::cerr << "side_by_side_bench " << workload << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << usage;
  return 2;
}
