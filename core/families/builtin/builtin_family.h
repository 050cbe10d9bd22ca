#pragma once

#include "families/model_family.h"

namespace pawtrait::families {

// The built-in model, named builtin:RUN_DIR (the folder its training wrote).
ModelFamily builtin_family();

}  // namespace pawtrait::families
