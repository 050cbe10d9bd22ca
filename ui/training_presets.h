#pragma once

// The training presets the window offers: steps for the built-in model and for a Stable
// Diffusion LoRA, and the LoRA rank.
struct TrainingPreset {
  const char* name;
  int builtin_steps;
  int sd_steps;
  int rank;
};
inline constexpr TrainingPreset kTrainingPresets[] = {
    {"Quick", 300, 200, 8}, {"Balanced", 1000, 400, 16}, {"Best", 2000, 800, 32}};
