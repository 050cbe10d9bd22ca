#include "cli/info_command.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "common/error.h"
#include "families/model_family.h"
#include "models/model_info.h"
#include "runtime/runtime_info.h"

namespace pawtrait::cli {
namespace {

struct InfoOptions {
  std::string path;
  std::string model_config;
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
  // What it is as a Stable Diffusion model, when it is one.
  nlohmann::json architecture;
  std::string architecture_text;
  if (info.format == "diffusers folder" || info.format == "single-file checkpoint") {
    try {
      std::optional<std::filesystem::path> config;
      if (!options.model_config.empty()) config = options.model_config;
      const families::FamilyDescription a = families::family_of(options.path).describe(options.path, config);
      architecture = {{"family", a.family},
                      {"prediction_type", a.prediction_type},
                      {"image_size", a.image_size},
                      {"from", config ? "model config " + options.model_config
                                      : (info.format == "diffusers folder" ? "its configs" : "tensor shapes")}};
      architecture_text = a.family + ", " + a.prediction_type + " prediction, " + std::to_string(a.image_size) + "x" +
                          std::to_string(a.image_size) + " pixels (from " + architecture["from"].get<std::string>() +
                          ")" + (a.guess.empty() ? "" : "\n  a guess: " + a.guess);
      if (!a.guess.empty()) architecture["guess"] = a.guess;
    } catch (const Error& e) {
      architecture = {{"unknown", e.what()}};
      architecture_text = std::string("not recognised: ") + e.what();
    }
  }
  if (options.json) {
    nlohmann::json out = models::to_json(info);
    if (!architecture.is_null()) out["architecture"] = architecture;
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << models::format_model_info(info);
    if (!architecture_text.empty()) std::cout << "\n  architecture: " << architecture_text << '\n';
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
  info->add_option("--model-config", options->model_config,
                   "A diffusers-style folder whose config files describe a single-file checkpoint")
      ->check(CLI::ExistingDirectory);
  info->callback([options] { run_info(*options); });
}

}  // namespace pawtrait::cli
