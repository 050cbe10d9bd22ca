#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"

namespace pawtrait::pipeline {
class TextToImage;
}

namespace pawtrait::training {

// Where the class images for prior preservation live: `override_dir` when given, else a
// folder per (model, prompt, resolution) under $XDG_CACHE_HOME/pawtrait/class-images (or
// ~/.cache/...), so that runs on the same model and class reuse them.
std::filesystem::path class_images_folder(const std::filesystem::path& override_dir, const std::filesystem::path& model,
                                          const std::string& prompt, std::int64_t resolution);

// Makes sure `count` class images (class-0000.png, ...) exist in `folder`, generating the
// missing ones with the base model (seed = index, so a rerun makes the same pictures), and
// returns their paths. Each picture is written atomically as soon as it is done, so an
// interrupted run keeps what it made. A raised `cancel` stops it early (between pictures or
// between a picture's steps) with the paths of the pictures that exist.
std::vector<std::filesystem::path> ensure_class_images(pipeline::TextToImage& generator,
                                                       const std::filesystem::path& folder, const std::string& prompt,
                                                       std::int64_t count, std::int64_t resolution, const LogSink& log,
                                                       const std::atomic<bool>* cancel);

}  // namespace pawtrait::training
