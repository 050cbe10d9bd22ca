// Training speed and memory: one DreamBooth LoRA run (rank 16, batch 1, CPU) through the real
// trainer, in its own process so that its peak RSS is its own. tests/bench/run-train-bench
// runs it for the tiny model and an SD-1.5-shaped one, with latents cached and not, with
// gradient checkpointing on and off, and prints the ratios.
//   train_bench MODEL_DIR PHOTOS STEPS RESOLUTION cached|uncached [checkpointing|plain] [cpu|cuda]
// prints one JSON line: the median seconds per step after the first, peak RSS, weights' size.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "peak_rss.h"
#include "runtime/runtime_info.h"
#include "train_timing.h"

namespace {

namespace fs = std::filesystem;
double weights_mib(const fs::path& model) {
  std::uintmax_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(model)) {
    if (entry.path().extension() == ".safetensors") bytes += entry.file_size();
  }
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr
        << "usage: train_bench MODEL_DIR PHOTOS STEPS RESOLUTION cached|uncached [checkpointing|plain] [cpu|cuda]\n";
    return 2;
  }
  pawtrait::runtime::configure_cpu_threads();
  const fs::path run = fs::temp_directory_path() / ("pawtrait-train-bench-" + std::to_string(::getpid()));
  fs::remove_all(run);
  pawtrait::training::TrainRequest r;
  r.model = argv[1];
  r.photos = {argv[2]};
  r.steps = std::stoll(argv[3]);
  r.resolution = std::stoll(argv[4]);
  r.cache_latents = std::string(argv[5]) == "cached";
  r.gradient_checkpointing = argc > 6 && std::string(argv[6]) == "checkpointing";
  r.run_dir = run;
  r.device = argc > 7 ? argv[7] : "cpu";  // cuda: bf16 autocast where the GPU has it
  r.preview_every = 0;
  r.validate_every = 0;
  r.checkpoint_every = 0;

  const TrainTiming timing = time_training(r);
  const std::vector<double>& step_seconds = timing.step_seconds;
  const double total = timing.total_seconds;
  fs::remove_all(run);
  std::vector<double> after_first(step_seconds.begin() + (step_seconds.size() > 1 ? 1 : 0), step_seconds.end());
  std::sort(after_first.begin(), after_first.end());
  const double median = after_first[after_first.size() / 2];
  std::cout << "{\"model\": \"" << r.model.string() << "\", \"cached\": " << (r.cache_latents ? "true" : "false")
            << ", \"checkpointing\": " << (r.gradient_checkpointing.value_or(false) ? "true" : "false")
            << ", \"steps\": " << r.steps << ", \"seconds_per_step\": " << median << ", \"total_seconds\": " << total
            << ", \"peak_rss_mib\": " << peak_rss_mib() << ", \"weights_mib\": " << weights_mib(r.model) << "}"
            << std::endl;
  return 0;
}
