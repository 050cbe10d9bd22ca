#include "common/error.h"
#include "families/builtin/builtin_family.h"
#include "families/flux2/flux2_family.h"
#include "families/model_family.h"
#include "families/model_kinds.h"
#include "families/sdxl/sdxl_family.h"
#include "families/stable_diffusion/stable_diffusion_family.h"

namespace pawtrait::families {

const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> families = {
      builtin_family(),
      sdxl_family(),
      flux2_klein_family(),
      stable_diffusion_family(),
  };
  return families;
}

const ModelFamily& family_of(const std::string& model) {
  for (const ModelFamily& family : model_families()) {
    if (family.claims(model)) return family;
  }
  std::error_code error;
  if (!std::filesystem::exists(model, error)) throw Error(model + " does not exist");
  refuse_unsupported(model);  // names the kind when it can be told
  throw Error(model + " is not a model Pawtrait can read. " + supported_kinds() + ".");
}

}  // namespace pawtrait::families
