#pragma once

// What the FLUX.2 [klein] tests share: where the test data is, and the acceptance
// |a − b| ≤ atol + rtol·|b| with the bounds klein/README.md suggests (about ten times the
// reference's own float32-vs-float64 spread, and far below the distance of a wrong input).
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "test_support.h"

namespace pawtrait::flux2_testing {

inline std::filesystem::path klein() { return pawtrait::testing::testdata() / "klein"; }

// Returns the largest difference, so a test can also show that a wrong input lands far away.
inline double expect_close(const std::string& what, const at::Tensor& actual, const at::Tensor& expected, double atol,
                           double rtol = 0.0) {
  EXPECT_EQ(actual.sizes(), expected.sizes()) << what;
  if (actual.sizes() != expected.sizes()) return 1e30;
  const at::Tensor b = expected.to(at::kDouble);
  const at::Tensor d = (actual.to(at::kDouble) - b).abs();
  const double largest = d.max().item<double>();
  std::cout << "[ measured ] " << what << ": max |difference| " << largest << "\n";
  EXPECT_LE((d - (atol + rtol * b.abs())).max().item<double>(), 0.0) << what;
  return largest;
}

inline double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace pawtrait::flux2_testing
