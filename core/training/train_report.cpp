#include "training/train_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "imaging/png_text.h"

namespace pawtrait::training {

TrainProgress record_step(TrainState& state, std::int64_t step, std::int64_t steps, double loss, double lr,
                          std::int64_t first_step, double elapsed_seconds) {
  state.step = step;
  state.smoothing_weight = 0.98 * state.smoothing_weight + 0.02;
  state.smoothed_loss_sum = 0.98 * state.smoothed_loss_sum + 0.02 * loss;
  TrainProgress p;
  p.step = step;
  p.steps = steps;
  p.loss = loss;
  p.smoothed_loss = state.smoothed_loss_sum / state.smoothing_weight;
  p.lr = lr;
  p.it_per_s = static_cast<double>(step - first_step) / std::max(elapsed_seconds, 1e-9);
  p.eta_seconds = static_cast<double>(steps - step) / std::max(p.it_per_s, 1e-9);
  return p;
}

std::string loss_csv_row(const TrainProgress& p) {
  std::ostringstream row;
  row.precision(9);
  row << p.step << ',' << p.loss << ',' << p.smoothed_loss << ',';
  if (p.validation_loss >= 0) row << p.validation_loss;
  row << ',' << p.lr << '\n';
  return row.str();
}

void save_preview(const std::filesystem::path& run_dir, const TrainPreview& preview,
                  const std::map<std::string, std::string>& text) {
  if (preview.images.empty()) return;
  const std::int64_t w = preview.images.front().width, h = preview.images.front().height;
  const auto n = static_cast<std::int64_t>(preview.images.size());
  std::vector<std::uint8_t> strip(static_cast<std::size_t>(w * h * 3 * n));
  for (std::int64_t k = 0; k < n; ++k) {
    const auto& rgb = preview.images[static_cast<std::size_t>(k)].rgb;
    for (std::int64_t y = 0; y < h; ++y) {
      std::copy_n(rgb.data() + y * w * 3, w * 3, strip.data() + (y * w * n + k * w) * 3);
    }
  }
  char name[48];
  std::snprintf(name, sizeof name, "step-%06lld.png", static_cast<long long>(preview.step));
  imaging::write_png(run_dir / "previews" / name, strip, w * n, h, text);
}

}  // namespace pawtrait::training
