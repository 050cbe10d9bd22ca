#include "schedulers/numpy_compat.h"

#include <cmath>

namespace pawtrait::schedulers {

std::vector<double> numpy_linspace(double start, double stop, std::int64_t num) {
  std::vector<double> out;
  if (num <= 0) return out;
  out.reserve(static_cast<std::size_t>(num));
  const std::int64_t div = num - 1;
  const double delta = stop - start;
  for (std::int64_t i = 0; i < num; ++i) {
    double value =
        div > 0 ? static_cast<double>(i) * (delta / static_cast<double>(div)) : static_cast<double>(i) * delta;
    out.push_back(value + start);
  }
  if (num > 1) out.back() = stop;
  return out;
}

std::vector<double> numpy_arange(double start, double stop, double step) {
  std::vector<double> out;
  const double count = std::ceil((stop - start) / step);
  if (!(count > 0)) return out;
  const auto length = static_cast<std::size_t>(count);
  out.resize(length);
  out[0] = start;
  if (length > 1) {
    out[1] = start + step;
    const double delta = out[1] - start;
    for (std::size_t i = 2; i < length; ++i) out[i] = start + static_cast<double>(i) * delta;
  }
  return out;
}

double numpy_round(double x) { return std::nearbyint(x); }

double numpy_interp(double x, const std::vector<float>& fp) {
  const auto n = static_cast<std::int64_t>(fp.size());
  if (n == 0) return 0.0;
  if (n == 1) return fp[0];
  if (x <= 0.0) return fp[0];
  if (x >= static_cast<double>(n - 1)) return fp[static_cast<std::size_t>(n - 1)];
  const auto j = static_cast<std::size_t>(std::floor(x));
  const double slope = (static_cast<double>(fp[j + 1]) - static_cast<double>(fp[j])) / 1.0;
  double value = slope * (x - static_cast<double>(j)) + fp[j];
  if (std::isnan(value)) value = slope * (x - static_cast<double>(j + 1)) + fp[j + 1];
  return value;
}

}  // namespace pawtrait::schedulers
