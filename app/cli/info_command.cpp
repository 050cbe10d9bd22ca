#include "cli/info_command.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "models/model_info.h"
#include "runtime/runtime_info.h"

namespace pawtrait::cli {
namespace {

struct InfoOptions {
  std::string path;
  bool json = false;
};

nlohmann::json runtime_json() {
  runtime::RuntimeInfo rt = runtime::query_runtime();
  return {{"torch_version", rt.torch_version},
          {"cuda_built", rt.cuda_built},
          {"cuda_available", rt.cuda_available},
          {"cuda_devices", rt.cuda_devices},
          {"cpu_threads", rt.cpu_threads}};
}

void run_info(const InfoOptions& options) {
  if (options.path.empty()) {
    nlohmann::json rt = runtime_json();
    if (options.json) {
      std::cout << rt.dump(2) << '\n';
    } else {
      std::cout << "LibTorch " << rt["torch_version"].get<std::string>() << ", CUDA backend "
                << (rt["cuda_built"].get<bool>() ? "linked" : "not linked") << ", " << rt["cuda_devices"].get<int>()
                << " GPU(s), " << rt["cpu_threads"].get<int>() << " CPU threads\n";
    }
    return;
  }
  models::ModelInfo info = models::inspect_model(options.path);
  if (options.json) {
    std::cout << models::to_json(info).dump(2) << '\n';
  } else {
    std::cout << models::format_model_info(info);
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* info =
      app.add_subcommand("info",
                         "Show what a model folder or .safetensors file holds (components, parameter counts, dtypes, "
                         "scheduler); without a path, show what this machine can run on");
  info->add_option("path", options->path, "A diffusers model folder (with model_index.json) or a .safetensors file");
  info->add_flag("--json", options->json, "Print the same as JSON");
  info->callback([options] { run_info(*options); });
}

}  // namespace pawtrait::cli
