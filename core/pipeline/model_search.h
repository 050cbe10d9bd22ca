#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"
#include "pipeline/generate_request.h"

namespace pawtrait::pipeline {

// The request a shared picture carries, with the names of its model, configs, VAE and LoRAs
// replaced by paths on this disk. Each is looked for by name in `folders`, in order, and up to
// three levels below each (a project's runs/<run>/lora/); among those of its name, the first
// whose short hash is the picture's wins. An absolute path that exists (a picture from before
// pictures carried names, or one the caller put there, such as --model's) is used as it is.
//
// A model found only with another hash is used, with a warning that it is another version
// and its pictures will differ; configs not found are detected again, with a warning. A
// model, VAE or LoRA not found throws pawtrait::Error with its name and hash and the folders
// looked in. `cache` is models::short_hash's (empty: hashes are not remembered).
// How the person names a model that is elsewhere, ending the message for a missing one.
struct HowToName {
  std::string model = "give its path with --model PATH";
  std::string vae = "give its path with --vae PATH";
  std::string lora = "give its path with --lora PATH";
};

GenerateRequest locate_models(GenerateRequest request, const std::vector<std::filesystem::path>& folders,
                              const LogSink& log, const std::filesystem::path& cache, const HowToName& how = {});

// Where a picture's models are first looked for: its own folder and the two above it (a
// project's gallery/, the project, the folder of projects; never the root), then the current
// folder. The
// caller adds the models folder.
std::vector<std::filesystem::path> folders_near(const std::filesystem::path& picture);

}  // namespace pawtrait::pipeline
