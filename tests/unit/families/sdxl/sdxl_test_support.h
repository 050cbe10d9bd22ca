#pragma once

// What the SDXL tests share: where the test data is, and the testdata README's acceptance
// |a − b| ≤ atol + 1e-5·|b| (about ten times the reference's own float32 spread).
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "test_support.h"

namespace pawtrait::sdxl_testing {

inline std::filesystem::path sdxl() { return pawtrait::testing::testdata() / "sdxl"; }

inline void expect_close(const std::string& what, const at::Tensor& actual, const at::Tensor& expected, double atol) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const at::Tensor b = expected.to(at::kDouble);
  const at::Tensor d = (actual.to(at::kDouble) - b).abs();
  std::cout << "[ measured ] " << what << ": max |difference| " << d.max().item<double>() << "\n";
  EXPECT_LE((d - (atol + 1e-5 * b.abs())).max().item<double>(), 0.0) << what;
}

}  // namespace pawtrait::sdxl_testing
