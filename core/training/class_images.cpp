#include "training/class_images.h"

#include <cstdio>

#include "common/atomic_file.h"
#include "common/cache_folder.h"
#include "common/error.h"
#include "imaging/png_text.h"
#include "pipeline/text_to_image.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

// FNV-1a: a stable name for the cache key across builds (std::hash is not).
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

fs::path class_images_folder(const fs::path& override_dir, const fs::path& model, const std::string& prompt,
                             std::int64_t resolution) {
  if (!override_dir.empty()) return override_dir;
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(model, ec);
  const std::string key = (ec ? model : canonical).string() + "\n" + prompt + "\n" + std::to_string(resolution);
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(fnv1a(key)));
  return cache_folder() / "class-images" / name;
}

std::vector<fs::path> ensure_class_images(pipeline::TextToImage& generator, const fs::path& folder,
                                          const std::string& prompt, std::int64_t count, std::int64_t resolution,
                                          const LogSink& log, const std::atomic<bool>* cancel) {
  fs::create_directories(folder);
  write_file_atomically(folder / "about.txt", "Class images for prior preservation, made by Pawtrait.\nprompt: " +
                                                  prompt + "\nresolution: " + std::to_string(resolution) + "\n");
  std::vector<fs::path> files;
  std::int64_t made = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "class-%04lld.png", static_cast<long long>(i));
    const fs::path file = folder / name;
    files.push_back(file);
    if (fs::exists(file)) continue;
    if (cancel != nullptr && cancel->load()) break;  // the ones made are kept for next time
    if (made == 0) {
      log_to(log, LogLevel::Info,
             "making class images for prior preservation (\"" + prompt + "\") in " + folder.string() +
                 "; this happens once per model and class");
    }
    pipeline::GenerateRequest request;
    request.prompt = prompt;
    request.sampler = generator.picture_sampler();
    request.steps = 25;
    request.guidance = generator.model().defaults().guidance;
    request.width = request.height = resolution;
    request.seed = static_cast<std::uint64_t>(i);
    pipeline::GenerateCallbacks stop_early;
    stop_early.cancel = cancel;
    const auto images = generator.generate(request, stop_early);
    if (images.empty()) {  // stopped while it was drawn
      files.pop_back();
      break;
    }
    imaging::write_png(file, images.at(0).rgb, resolution, resolution);
    ++made;
  }
  if (made > 0) log_to(log, LogLevel::Info, "made " + std::to_string(made) + " class image(s)");
  return files;
}

}  // namespace pawtrait::training
