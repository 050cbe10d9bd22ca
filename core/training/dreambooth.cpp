#include "training/dreambooth.h"

#include "common/error.h"
#include "common/json_file.h"
#include "families/model_family.h"
#include "imaging/caption_sidecar.h"
#include "imaging/photo.h"
#include "training/train_checkpoint.h"

namespace pawtrait::training {

TrainResult train_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks) {
  request.validate();
  if (request.run_dir.empty()) throw Error("no run folder given");
  if (request.model.empty()) throw Error("no base model given: pass a diffusers folder or a .safetensors file");
  const families::ModelFamily& family = families::family_of(request.model.string());
  if (!family.train) throw Error("training " + family.name + " models with DreamBooth is not supported");
  if (request.resume) return family.train(request, callbacks);  // with the captions its config.json keeps
  TrainRequest with_sidecars = request;
  for (const auto& photo : imaging::find_photos(request.photos)) {
    if (with_sidecars.captions.contains(photo)) continue;  // said in the request: it wins
    if (std::string caption = imaging::read_caption_sidecar(photo); !caption.empty()) {
      with_sidecars.captions[photo] = std::move(caption);
    }
  }
  return family.train(with_sidecars, callbacks);
}

TrainRequest read_run_request(const std::filesystem::path& run_dir) {
  const std::filesystem::path file = run_dir / "config.json";
  if (const std::string kind = run_kind(run_dir); kind != "dreambooth") {
    throw Error(file.string() + " is not a DreamBooth training run (kind \"" + kind + "\")");
  }
  TrainRequest request = TrainRequest::from_json(read_json_file(file), file.string());
  request.run_dir = run_dir;
  return request;
}

}  // namespace pawtrait::training
