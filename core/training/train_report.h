#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "training/train_checkpoint.h"
#include "training/train_events.h"

namespace pawtrait::training {

// What both trainers report after an optimizer step: the loss, its exponential moving
// average (0.98, bias-corrected through state.smoothing_weight, updated here), the rate since
// `first_step` (where this run started or resumed) and the time left.
TrainProgress record_step(TrainState& state, std::int64_t step, std::int64_t steps, double loss, double lr,
                          std::int64_t first_step, double elapsed_seconds);

// One loss.csv row (step, loss, smoothed_loss, validation_loss, lr); the validation column is
// empty when it was not computed.
std::string loss_csv_row(const TrainProgress& progress);

// Writes the preview's pictures side by side (all the same size) as
// run_dir/previews/step-NNNNNN.png, atomically, with the given PNG text chunks.
void save_preview(const std::filesystem::path& run_dir, const TrainPreview& preview,
                  const std::map<std::string, std::string>& text = {});

}  // namespace pawtrait::training
