#pragma once

#include <cstdint>

namespace pawtrait::pipeline {

// Where a text-to-image run is: which image of how many, which step of how many.
struct StepProgress {
  std::int64_t image = 0;  // first image of the batch being sampled
  std::int64_t images = 0;
  std::int64_t step = 0;  // 1-based
  std::int64_t steps = 0;
};

}  // namespace pawtrait::pipeline
