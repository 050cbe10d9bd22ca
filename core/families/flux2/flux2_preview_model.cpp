#include "families/flux2/flux2_preview_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "common/error.h"
#include "training/dreambooth_run.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

// Why `folder` cannot draw the previews of a run on `trained`, "" when it can. `auto_chosen`:
// only a distilled model is worth choosing on the user's behalf.
std::string unfit(const fs::path& folder, const families::Flux2Klein& trained, bool auto_chosen) {
  families::Flux2KleinConfigs c;
  try {
    c = families::read_flux2_klein_configs(folder, trained.text_encoder_layers);
  } catch (const Error& e) {
    return e.what();
  }
  if (auto_chosen && !c.is_distilled) return "it is not a distilled model";
  // The guidance embedder is the one part a LoRA never touches.
  families::Flux2TransformerConfig layers = c.transformer;
  layers.guidance_embeds = trained.transformer->config.guidance_embeds;
  if (!(layers == trained.transformer->config)) return "its transformer has other layers than the trained model's";
  return "";
}

// The folders beside the trained model, in name order.
std::vector<fs::path> siblings(const fs::path& model) {
  std::vector<fs::path> found;
  std::error_code ec;
  const fs::path self = fs::weakly_canonical(model, ec);
  for (const auto& entry : fs::directory_iterator(self.parent_path(), ec)) {
    if (entry.is_directory(ec) && entry.path() != self && fs::exists(entry.path() / "model_index.json", ec)) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Restores the run's placement even when a preview throws: the trained transformer is back
// where it computes before the next step.
class PreviewPlacement {
 public:
  PreviewPlacement(families::Flux2KleinModel& trained, families::Flux2KleinModel& preview)
      : trained_(trained), preview_(preview) {
    trained_.park_transformer();
    preview_.transformer_to_device();
  }
  ~PreviewPlacement() {
    preview_.park_transformer();
    trained_.transformer_to_device();
  }
  PreviewPlacement(const PreviewPlacement&) = delete;
  PreviewPlacement& operator=(const PreviewPlacement&) = delete;

 private:
  families::Flux2KleinModel& trained_;
  families::Flux2KleinModel& preview_;
};

}  // namespace

std::unique_ptr<KleinPreviewModel> KleinPreviewModel::open(const TrainRequest& request,
                                                           const families::Flux2Klein& trained,
                                                           const families::LoadOptions& load, const LogSink& log) {
  if (request.preview_model == "none") return nullptr;
  const bool auto_chosen = request.preview_model == "auto";
  if (auto_chosen && trained.is_distilled) return nullptr;  // it is the distilled model itself
  families::LoadOptions options = load;
  options.text_encoder_layers = trained.text_encoder_layers;
  if (!auto_chosen) {
    const fs::path folder = request.preview_model;
    if (const std::string why = unfit(folder, trained, false); !why.empty()) {
      throw Error("--preview-model " + folder.string() + " cannot draw this run's previews: " + why +
                  ". Give the distilled FLUX.2 [klein] model of the same size, or --preview-model none");
    }
    return std::make_unique<KleinPreviewModel>(families::load_flux2_klein(folder, options));
  }
  for (const fs::path& folder : siblings(trained.source)) {
    if (!unfit(folder, trained, true).empty()) continue;
    try {
      auto preview = std::make_unique<KleinPreviewModel>(families::load_flux2_klein(folder, options));
      log_to(log, LogLevel::Info,
             "previews: drawn with the distilled model " + folder.filename().string() +
                 " and this run's LoRA, as you will use it (--preview-model none: with the base model)");
      return preview;
    } catch (const Error& e) {
      log_to(log, LogLevel::Warning,
             "the distilled model " + folder.string() + " does not load (" + e.what() +
                 "); the previews use the base model");
      return nullptr;
    }
  }
  return nullptr;
}

KleinPreviewModel::KleinPreviewModel(families::Flux2Klein model) : model_(std::move(model)), sampler_(model_) {}

void KleinPreviewModel::encode(const std::vector<std::string>& prompts, const LogSink& log) {
  at::NoGradGuard no_grad;
  for (const auto& p : prompts) sampler_.encode_prompt(p, {}, log);
  if (model_.uses_guidance()) sampler_.encode_negative(std::nullopt);
  model_.modules().text_encoder = models::Qwen3TextModel(nullptr);
  release_vae_encoder(model_.modules().vae);
}

void KleinPreviewModel::add_adapters(const std::vector<std::string>& targets, const TrainRequest& request) {
  // Their values are the run's at every preview; the draw only fills them.
  std::optional<at::Generator> init = at::make_generator<at::CPUGeneratorImpl>(0);
  for (auto& [name, adapter] :
       add_trained_lora(*model_.modules().transformer, targets, request, init, "", "distilled transformer")) {
    adapter.set_requires_grad(false);
    adapters_.emplace(name, adapter);
  }
}

std::optional<TrainPreview> KleinPreviewModel::draw(families::Flux2KleinModel& trained, const NamedParameters& adapters,
                                                    const TrainRequest& request,
                                                    const std::vector<std::string>& prompts, std::int64_t resolution,
                                                    std::int64_t step, const std::atomic<bool>* cancel) {
  const PreviewPlacement placement(trained, model_);
  {
    at::NoGradGuard no_grad;
    for (const auto& [name, value] : adapters) adapters_.at(name).copy_(value);
  }
  return make_previews(sampler_, request, prompts, resolution, step, cancel);
}

}  // namespace pawtrait::training
