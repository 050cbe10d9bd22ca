#include "training/train_request.h"

#include <algorithm>

#include "common/error.h"
#include "models/config_fields.h"

namespace pawtrait::training {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

}  // namespace

std::string TrainRequest::instance_prompt(const std::filesystem::path& photo) const {
  const auto it = captions.find(photo);
  return it == captions.end() || it->second.empty() ? instance_prompt() : instance_prompt() + ", " + it->second;
}

double TrainRequest::effective_learning_rate() const {
  if (learning_rate > 0) return learning_rate;
  return mode == "full" ? 5e-6 : 1e-4;
}

void TrainRequest::validate() const {
  require(mode == "lora" || mode == "full", "the training mode must be lora or full; got \"" + mode + "\"");
  // The upper bounds keep a mistyped or hostile request file (--resume reads config.json) from
  // asking for days of work or terabytes of memory; each is far past what a pet needs.
  require(steps >= 1 && steps <= 1'000'000, "steps must be between 1 and 1000000; got " + std::to_string(steps));
  require(batch_size >= 1 && batch_size <= 64,
          "the batch size must be between 1 and 64; got " + std::to_string(batch_size));
  require(grad_accum >= 1 && grad_accum <= 1024, "gradient accumulation must be between 1 and 1024");
  require(rank >= 1 && rank <= 1024, "the LoRA rank must be between 1 and 1024; got " + std::to_string(rank));
  require(alpha > 0, "the LoRA alpha must be positive");
  require(!lora_targets.empty(), "no LoRA target modules given");
  require(!(train_text_encoder && mode == "full"),
          "training the text encoder goes with LoRA mode; for full fine-tuning leave it off");
  require(!train_text_encoder || !text_encoder_targets.empty(), "no text-encoder LoRA target modules given");
  require(learning_rate >= 0 && learning_rate < 1, "the learning rate must be between 0 and 1");
  require(lr_schedule == "constant" || lr_schedule == "cosine",
          "the learning-rate schedule must be constant or cosine; got \"" + lr_schedule + "\"");
  require(warmup_steps >= 0, "warm-up steps cannot be negative");
  require(resolution == 0 || (resolution >= 8 && resolution <= 4096 && resolution % 8 == 0),
          "the resolution must be a multiple of 8 up to 4096; got " + std::to_string(resolution));
  require(mask_background_weight >= 0 && mask_background_weight <= 1,
          "the background's weight in the masked loss must be between 0 and 1; got " +
              std::to_string(mask_background_weight));
  require(crop == "buckets" || crop == "square", "the crop must be buckets or square; got \"" + crop + "\"");
  require(prior_count >= 0 && prior_weight >= 0, "the prior count and weight cannot be negative");
  require(prior_count <= 10000, "at most 10000 class images; got " + std::to_string(prior_count));
  require(
      mixed_precision == "auto" || mixed_precision == "no" || mixed_precision == "fp16" || mixed_precision == "bf16",
      "mixed precision must be auto, no, fp16 or bf16; got \"" + mixed_precision + "\"");
  require(device == "auto" || device == "cpu" || device == "cuda",
          "the device must be auto, cpu or cuda; got \"" + device + "\"");
  require(ema_decay > 0 && ema_decay < 1, "the EMA decay must be between 0 and 1");
  require(token.find_first_not_of(" \t") != std::string::npos, "the token cannot be empty");
  require(class_name.find_first_not_of(" \t") != std::string::npos, "the class cannot be empty");
  require(validate_every >= 0 && preview_every >= 0 && checkpoint_every >= 0,
          "validate/preview/checkpoint intervals cannot be negative");
  require(preview_steps >= 1 && preview_steps <= 1000, "preview steps must be between 1 and 1000");
  require(!preview_model.empty(), "the preview model must be auto, none or a model folder");
}

nlohmann::json TrainRequest::to_json() const {
  std::vector<std::string> photo_list;
  for (const auto& p : photos) photo_list.push_back(p.string());
  nlohmann::json crop_list = nlohmann::json::object(), turn_list = nlohmann::json::object();
  for (const auto& [file, edit] : edits) {
    if (edit.box) crop_list[file.string()] = {edit.box->x, edit.box->y, edit.box->width, edit.box->height};
    if (edit.quarter_turns != 0) turn_list[file.string()] = edit.quarter_turns;
  }
  nlohmann::json caption_list = nlohmann::json::object();
  for (const auto& [file, caption] : captions) caption_list[file.string()] = caption;
  return {{"kind", "dreambooth"},
          {"photos", photo_list},
          {"crops", crop_list},
          {"turns", turn_list},
          {"captions", caption_list},
          {"model", model.string()},
          {"model_config", model_config.string()},
          {"run_dir", run_dir.string()},
          {"token", token},
          {"class", class_name},
          {"mode", mode},
          {"rank", rank},
          {"alpha", alpha},
          {"lora_targets", lora_targets},
          {"train_text_encoder", train_text_encoder},
          {"text_encoder_targets", text_encoder_targets},
          {"learning_rate", learning_rate},
          {"lr_schedule", lr_schedule},
          {"warmup_steps", warmup_steps},
          {"weight_decay", weight_decay},
          {"max_grad_norm", max_grad_norm},
          {"steps", steps},
          {"batch_size", batch_size},
          {"grad_accum", grad_accum},
          {"resolution", resolution},
          {"crop", crop},
          {"flip", flip},
          {"cache_latents", cache_latents},
          {"noise_offset", noise_offset},
          {"masked_loss", masked_loss},
          {"mask_background_weight", mask_background_weight},
          {"prior_count", prior_count},
          {"prior_weight", prior_weight},
          {"class_images_dir", class_images_dir.string()},
          {"mixed_precision", mixed_precision},
          {"gradient_checkpointing",
           gradient_checkpointing ? nlohmann::json(*gradient_checkpointing) : nlohmann::json(nullptr)},
          {"ema", ema},
          {"ema_decay", ema_decay},
          {"device", device},
          {"seed", seed},
          {"validate_every", validate_every},
          {"preview_every", preview_every},
          {"preview_steps", preview_steps},
          {"preview_model", preview_model},
          {"checkpoint_every", checkpoint_every}};
}

TrainRequest TrainRequest::from_json(const nlohmann::json& json, const std::string& source) {
  const models::ConfigFields f(json, source);
  TrainRequest r;
  for (const auto& p : f.texts("photos", {})) r.photos.emplace_back(p);
  if (json.contains("crops")) {
    const auto& crops = json["crops"];
    if (!crops.is_object()) throw Error(source + ": \"crops\" must map photo files to [x, y, width, height]");
    for (const auto& [file, box] : crops.items()) {
      const bool whole = box.is_array() && (box.size() == 3 || box.size() == 4) &&
                         std::all_of(box.begin(), box.end(), [](const auto& v) { return v.is_number_integer(); });
      if (!whole) throw Error(source + ": the crop of " + file + " must be [x, y, width, height] in whole pixels");
      // [x, y, size]: a square box, as Pawtrait wrote it before boxes had their own shape.
      const nlohmann::json& values = box;  // a lambda cannot capture a structured binding everywhere
      const auto at = [&](std::size_t i) { return values[std::min(i, values.size() - 1)].get<std::int64_t>(); };
      const imaging::CropBox b{at(0), at(1), at(2), at(3)};
      if (b.x < 0 || b.y < 0 || b.width < 1 || b.height < 1) {
        throw Error(source + ": the crop of " + file + " must have a positive size inside the photo");
      }
      r.edits[file].box = b;
    }
  }
  if (json.contains("turns")) {
    const auto& turns = json["turns"];
    if (!turns.is_object()) throw Error(source + ": \"turns\" must map photo files to quarter turns (0 to 3)");
    for (const auto& [file, n] : turns.items()) {
      if (!n.is_number_integer() || n.get<std::int64_t>() < 0 || n.get<std::int64_t>() > 3) {
        throw Error(source + ": the turns of " + file + " must be 0, 1, 2 or 3 quarter turns");
      }
      r.edits[file].quarter_turns = n.get<int>();
    }
  }
  if (json.contains("captions")) {
    const auto& captions = json["captions"];
    if (!captions.is_object()) throw Error(source + ": \"captions\" must map photo files to their captions");
    for (const auto& [file, caption] : captions.items()) {
      if (!caption.is_string()) throw Error(source + ": the caption of " + file + " must be text");
      r.captions[file] = caption.get<std::string>();
    }
  }
  r.model = f.text("model", "");
  r.model_config = f.text("model_config", "");
  r.run_dir = f.text("run_dir", "");
  r.token = f.text("token", r.token);
  r.class_name = f.text("class", r.class_name);
  r.mode = f.text("mode", r.mode);
  r.rank = f.integer("rank", r.rank);
  r.alpha = f.number("alpha", r.alpha);
  r.lora_targets = f.texts("lora_targets", r.lora_targets);
  r.train_text_encoder = f.boolean("train_text_encoder", r.train_text_encoder);
  r.text_encoder_targets = f.texts("text_encoder_targets", r.text_encoder_targets);
  r.learning_rate = f.number("learning_rate", r.learning_rate);
  r.lr_schedule = f.text("lr_schedule", r.lr_schedule);
  r.warmup_steps = f.integer("warmup_steps", r.warmup_steps);
  r.weight_decay = f.number("weight_decay", r.weight_decay);
  r.max_grad_norm = f.number("max_grad_norm", r.max_grad_norm);
  r.steps = f.integer("steps", r.steps);
  r.batch_size = f.integer("batch_size", r.batch_size);
  r.grad_accum = f.integer("grad_accum", r.grad_accum);
  r.resolution = f.integer("resolution", r.resolution);
  // A config.json without it is a run from before buckets: it trained, and resumes, on squares.
  r.crop = f.text("crop", "square");
  r.flip = f.boolean("flip", r.flip);
  r.cache_latents = f.boolean("cache_latents", r.cache_latents);
  r.noise_offset = f.number("noise_offset", r.noise_offset);
  r.masked_loss = f.boolean("masked_loss", r.masked_loss);
  r.mask_background_weight = f.number("mask_background_weight", r.mask_background_weight);
  r.prior_count = f.integer("prior_count", r.prior_count);
  r.prior_weight = f.number("prior_weight", r.prior_weight);
  r.class_images_dir = f.text("class_images_dir", "");
  r.mixed_precision = f.text("mixed_precision", r.mixed_precision);
  if (const auto it = json.find("gradient_checkpointing"); it != json.end() && !it->is_null()) {
    r.gradient_checkpointing = f.boolean("gradient_checkpointing", false);
  }
  r.ema = f.boolean("ema", r.ema);
  r.ema_decay = f.number("ema_decay", r.ema_decay);
  r.device = f.text("device", r.device);
  r.seed = static_cast<std::uint64_t>(f.integer("seed", 0));
  r.validate_every = f.integer("validate_every", r.validate_every);
  r.preview_every = f.integer("preview_every", r.preview_every);
  r.preview_steps = f.integer("preview_steps", r.preview_steps);
  r.preview_model = f.text("preview_model", r.preview_model);
  r.checkpoint_every = f.integer("checkpoint_every", r.checkpoint_every);
  return r;
}

}  // namespace pawtrait::training
