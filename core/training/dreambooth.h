#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "training/train_events.h"
#include "training/train_request.h"

namespace pawtrait::training {

struct TrainResult {
  std::int64_t steps_done = 0;
  double final_smoothed_loss = 0;
  bool stopped = false;                     // cancelled before the last step
  std::vector<std::string> skipped_photos;  // "<file>: <reason>"
  std::filesystem::path checkpoint;         // the newest checkpoint
  std::filesystem::path lora_kohya;         // LoRA mode: the A1111/ComfyUI file
  std::filesystem::path lora_peft;          // LoRA mode: the diffusers/PEFT file
  std::filesystem::path model_dir;          // full mode: the fine-tuned diffusers folder
  // The model to draw with when it is not the trained one: a klein base run's distilled model
  // (its previews were drawn with it). Empty: the trained model.
  std::filesystem::path generate_with;
};

// DreamBooth (Ruiz et al. 2023) on the base model's family (Stable Diffusion 1.x/2.x or SDXL):
// LoRA adapters (Hu et al. 2021) or, on Stable Diffusion, the whole UNet learn the pet from
// its photos under the instance prompt, optionally with prior preservation on class images
// the base model makes. Writes into run_dir: config.json (the request), loss.csv,
// previews/step-NNNNNN.png, checkpoints/ and, at the end or on cancel, lora/ (both LoRA
// formats) or model/ (a diffusers folder).
// With `resume`, the run in run_dir continues from its newest checkpoint up to
// request.steps, with the settings in its config.json; on the CPU the result equals an
// uninterrupted run. Throws pawtrait::Error with what to do (no usable photo, a NaN loss, a
// model that cannot be trained yet, ...).
TrainResult train_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks = {});

// The request a run folder was made with (its config.json), for --resume.
TrainRequest read_run_request(const std::filesystem::path& run_dir);

}  // namespace pawtrait::training
