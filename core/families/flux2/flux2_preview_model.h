#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "families/flux2/flux2_model.h"
#include "pipeline/text_to_image.h"
#include "training/dreambooth.h"
#include "training/train_checkpoint.h"

namespace pawtrait::training {

// The previews of a LoRA run on the FLUX.2 [klein] base model, drawn as the user will draw
// with the result: by the 4-step distilled model with the run's adapters as they are at that
// step (unmerged, as diffusers applies a LoRA). Its transformer waits on the CPU (views of
// the file) and, on a GPU, changes places with the trained one for each preview, so a card
// holds one 4B transformer at a time.
class KleinPreviewModel {
 public:
  // The model request.preview_model names ("auto": a distilled klein with the same layers in
  // a folder beside the trained one), loaded, or nullptr when the previews are the trained
  // model's own. A folder given by name that cannot serve throws pawtrait::Error saying why;
  // "auto" passes over what does not fit, with a log line.
  static std::unique_ptr<KleinPreviewModel> open(const TrainRequest& request, const families::Flux2Klein& trained,
                                                 const families::LoadOptions& load, const LogSink& log);

  explicit KleinPreviewModel(families::Flux2Klein model);
  KleinPreviewModel(const KleinPreviewModel&) = delete;
  KleinPreviewModel& operator=(const KleinPreviewModel&) = delete;

  // The preview prompts through its own text encoder, which is released afterwards.
  void encode(const std::vector<std::string>& prompts, const LogSink& log);

  // Frozen adapters shaped as the run's (the same targets, rank and alpha).
  void add_adapters(const std::vector<std::string>& targets, const TrainRequest& request);

  // Its folder: the model the run's LoRA is best drawn with.
  const std::filesystem::path& folder() const { return model_.modules().source; }

  // The previews with `adapters`' values now (the run's trained parameters, by name).
  std::optional<TrainPreview> draw(families::Flux2KleinModel& trained, const NamedParameters& adapters,
                                   const TrainRequest& request, const std::vector<std::string>& prompts,
                                   std::int64_t resolution, std::int64_t step, const std::atomic<bool>* cancel);

 private:
  families::Flux2KleinModel model_;
  pipeline::TextToImage sampler_;
  std::map<std::string, at::Tensor> adapters_;
};

}  // namespace pawtrait::training
