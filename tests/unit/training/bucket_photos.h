#pragma once

// Photos of two shapes for the bucket tests, cut from the demo photo (chelsea.png, 451 × 300),
// and a run that keeps its log.
#include <algorithm>
#include <filesystem>
#include <vector>

#include <string>

#include "imaging/photo.h"
#include "imaging/png_text.h"
#include "test_support.h"
#include "training/dreambooth.h"

namespace pawtrait::training::testing_support {

// The region (x, y, width, height) of a photo saved as a photo of its own.
inline std::filesystem::path save_region(const imaging::RgbImage& photo, std::int64_t x, std::int64_t y,
                                         std::int64_t width, std::int64_t height, const std::filesystem::path& file) {
  std::vector<std::uint8_t> rgb;
  for (std::int64_t row = y; row < y + height; ++row) {
    const auto* start = photo.rgb.data() + (row * photo.width + x) * 3;
    rgb.insert(rgb.end(), start, start + width * 3);
  }
  imaging::write_png(file, rgb, width, height);
  return file;
}

// In `folder`: the demo photo as it is (wide) and its 200 × 300 middle (tall, the cat's head).
inline std::vector<std::filesystem::path> wide_and_tall_photos(const std::filesystem::path& folder) {
  std::filesystem::create_directories(folder);
  const std::filesystem::path demo = testing::testdata() / "photos" / "chelsea.png";
  const imaging::RgbImage cat = imaging::load_photo(demo);
  std::filesystem::copy_file(demo, folder / "wide.png", std::filesystem::copy_options::overwrite_existing);
  return {folder / "wide.png", save_region(cat, 120, 0, 200, 300, folder / "tall.png")};
}

// A run's log lines and validation losses.
struct LoggedRun {
  std::vector<std::string> log;
  std::vector<double> validation;
  bool logged(const std::string& line) const { return std::find(log.begin(), log.end(), line) != log.end(); }
};

inline LoggedRun train_logged(const TrainRequest& request) {
  LoggedRun run;
  TrainCallbacks callbacks;
  callbacks.log = [&](LogLevel, const std::string& line) { run.log.push_back(line); };
  callbacks.on_progress = [&](const TrainProgress& p) {
    if (p.validation_loss >= 0) run.validation.push_back(p.validation_loss);
  };
  train_dreambooth(request, callbacks);
  return run;
}

}  // namespace pawtrait::training::testing_support
