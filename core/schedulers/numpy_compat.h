#pragma once

#include <cstdint>
#include <vector>

namespace pawtrait::schedulers {

// The few NumPy routines the reference builds its timesteps and sigmas with, reproduced
// operation for operation: which timestep a spacing yields (and how many) depends on
// their exact rounding, e.g. np.arange(1000, 0, -1000/61) has 62 elements, not 61.

// np.linspace(start, stop, num) in float64: i * step + start, the last element = stop.
std::vector<double> numpy_linspace(double start, double stop, std::int64_t num);
// np.arange(start, stop, step) in float64: length ceil((stop - start) / step), element i =
// start + i * ((start + step) - start).
std::vector<double> numpy_arange(double start, double stop, double step);
// np.round: half to even.
double numpy_round(double x);
// np.interp(x, [0, 1, ..., n-1], fp) in float64.
double numpy_interp(double x, const std::vector<float>& fp);

}  // namespace pawtrait::schedulers
