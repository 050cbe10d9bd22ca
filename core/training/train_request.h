#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "imaging/photo_edit.h"

namespace pawtrait::training {

// Everything that decides a DreamBooth run (Stable Diffusion or SDXL; DESIGN.md §3). Saved
// as the run folder's config.json; `--resume` reads it back, so a run continues with its own
// settings.
struct TrainRequest {
  std::vector<std::filesystem::path> photos;  // files or folders
  // The crop editor's choices per photo (turns, box); config.json keeps them as "crops"
  // (file: [x, y, width, height]) and "turns" (file: quarter turns clockwise).
  imaging::PhotoEdits edits;
  // Per-photo captions appended to the instance prompt ("a photo of sks dog, lying on the
  // grass"); a new run adds those of the photos' .txt sidecars (imaging/caption_sidecar.h).
  std::map<std::filesystem::path, std::string> captions;
  std::filesystem::path model;         // diffusers folder or single .safetensors file
  std::filesystem::path model_config;  // configs for a single file ("" = detect)
  std::filesystem::path run_dir;

  // Prompts: instance "a photo of <token> <class>", class "a photo of a <class>".
  std::string token = "sks";
  std::string class_name = "dog";

  std::string mode = "lora";  // lora | full (the whole UNet; Stable Diffusion 1.x/2.x only)
  std::int64_t rank = 16;
  double alpha = 16;
  std::vector<std::string> lora_targets = {"to_q", "to_k", "to_v", "to_out.0"};
  // LoRA on the text encoder too (its embeddings are then computed every step).
  bool train_text_encoder = false;
  std::vector<std::string> text_encoder_targets = {"q_proj", "k_proj", "v_proj", "out_proj"};

  double learning_rate = 0;              // 0: 1e-4 for LoRA, 5e-6 for full fine-tuning
  std::string lr_schedule = "constant";  // constant | cosine (after the warm-up)
  std::int64_t warmup_steps = 0;
  double weight_decay = 1e-2;
  double max_grad_norm = 1.0;  // 0 = no clipping
  std::int64_t steps = 400;    // optimizer steps
  std::int64_t batch_size = 1;
  std::int64_t grad_accum = 1;
  std::int64_t resolution = 0;  // 0: the model's own image size
  // How photos become training pictures: "buckets", each to the aspect-ratio bucket of its
  // shape at resolution² pixels (the whole pet of a tall phone photo stays in), or "square",
  // the centre (or chosen) square at resolution × resolution, as diffusers' scripts train.
  std::string crop = "buckets";
  bool flip = true;  // random horizontal flips
  // Encode each photo once and sample its latent from the cached posterior (the default);
  // off, the VAE encodes the step's photos every step, as diffusers' DreamBooth script does.
  bool cache_latents = true;
  double noise_offset = 0;  // 0 = off; ~0.05 helps very dark or bright pictures
  // A masked loss: each photo's pet region (its mask sidecar, "<name>-masklabel.png" as
  // OneTrainer writes them, white = pet; else the suggested subject box) counts fully, the rest
  // with `mask_background_weight` (not 0: the model still learns how the pet sits in a scene).
  bool masked_loss = false;
  double mask_background_weight = 0.1;

  std::int64_t prior_count = 0;  // class images for prior preservation; 0 = off
  double prior_weight = 1.0;
  std::filesystem::path class_images_dir;  // "" = the shared cache

  std::string mixed_precision = "auto";  // auto | no | fp16 | bf16 (CUDA only)
  // Unset: the family's choice (on for FLUX.2 [klein] on a GPU: by estimate a 1024² step's
  // activations do not fit 12 GB without it, until the GPU check measures it; off elsewhere).
  // config.json writes null for it.
  std::optional<bool> gradient_checkpointing;
  bool ema = false;
  double ema_decay = 0.999;
  std::string device = "auto";  // auto | cpu | cuda
  std::uint64_t seed = 0;

  std::int64_t validate_every = 50;  // 0 = never
  std::int64_t preview_every = 100;  // 0 = never
  std::int64_t preview_steps = 25;
  // FLUX.2 [klein] base: the model the previews are drawn with. "auto": a distilled klein
  // with the same transformer in a folder beside the base (as the downloader places them),
  // else the base itself; "none": the base; or a model folder. The LoRA applies to both.
  std::string preview_model = "auto";
  std::int64_t checkpoint_every = 100;  // 0 = only at the end and on cancel

  // Continue the run in run_dir from its newest checkpoint (not saved in config.json).
  bool resume = false;

  std::string instance_prompt() const { return "a photo of " + token + " " + class_name; }
  // The instance prompt with the photo's caption after it, when it has one.
  std::string instance_prompt(const std::filesystem::path& photo) const;
  std::string class_prompt() const { return "a photo of a " + class_name; }
  double effective_learning_rate() const;
  // Throws pawtrait::Error naming the setting for values that cannot work.
  void validate() const;

  nlohmann::json to_json() const;
  // Missing keys keep their defaults; wrong types throw pawtrait::Error naming the key.
  static TrainRequest from_json(const nlohmann::json& json, const std::string& source);
};

}  // namespace pawtrait::training
