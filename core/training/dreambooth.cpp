#include "training/dreambooth.h"

#include "common/error.h"
#include "common/json_file.h"
#include "families/model_family.h"
#include "training/train_checkpoint.h"

namespace pawtrait::training {

TrainResult train_dreambooth(const TrainRequest& request, const TrainCallbacks& callbacks) {
  request.validate();
  if (request.run_dir.empty()) throw Error("no run folder given");
  if (request.model.empty()) throw Error("no base model given: pass a diffusers folder or a .safetensors file");
  const families::ModelFamily& family = families::family_of(request.model.string());
  if (!family.train) throw Error("training " + family.name + " models with DreamBooth is not supported");
  return family.train(request, callbacks);
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
