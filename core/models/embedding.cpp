#include "models/embedding.h"

#include <ATen/ATen.h>

#include "models/weight_init.h"

namespace pawtrait::models {

EmbeddingImpl::EmbeddingImpl(std::int64_t count, std::int64_t dim) {
  weight = register_parameter("weight", at::empty({count, dim}));
  if (!weight_init_skipped()) {
    at::NoGradGuard no_grad;
    weight.normal_(0.0, 1.0, weight_init_generator());
  }
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) { return at::embedding(weight, ids); }

}  // namespace pawtrait::models
