// Time to the first sampling step of a Generate job: a second job on the same Engine (the
// model stays loaded, as the app's second Generate click) against a job on a fresh Engine
// (the model loaded again, as without the engine's cache), in the same run. Prints JSON.
//   engine_bench MODEL [REPEATS]
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

#include "engine/engine.h"

namespace {

using Clock = std::chrono::steady_clock;

double time_to_first_step(pawtrait::engine::Engine& engine, const std::string& model,
                          const std::filesystem::path& out) {
  pawtrait::engine::GenerateJob job;
  job.request.model = model;
  job.request.prompt = "a photo of sks dog";
  job.request.steps = 2;
  job.request.seed = 1;
  job.out_dir = out;
  pawtrait::engine::CancelToken token;
  const auto start = Clock::now();
  double first = -1;
  pawtrait::engine::GenerateEvents events;
  events.on_step = [&](const pawtrait::engine::GenerateStep& s) {
    if (first < 0 && s.step >= 1) first = std::chrono::duration<double>(Clock::now() - start).count();
  };
  engine.generate(job, events, token);
  return first;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: engine_bench MODEL [REPEATS]\n";
    return 2;
  }
  const std::string model = argv[1];
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
  const std::filesystem::path out = std::filesystem::temp_directory_path() / "pawtrait-engine-bench";
  for (int i = 0; i < repeats; ++i) {
    pawtrait::engine::Engine fresh;
    const double cold = time_to_first_step(fresh, model, out);  // loads the model
    const double warm = time_to_first_step(fresh, model, out);  // the second job: cached
    std::cout << "{\"model\": \"" << model << "\", \"first_job_seconds\": " << cold
              << ", \"second_job_seconds\": " << warm << ", \"ratio\": " << cold / warm << "}" << std::endl;
  }
  std::filesystem::remove_all(out);
  return 0;
}
