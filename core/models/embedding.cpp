#include "models/embedding.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "models/weight_init.h"

namespace pawtrait::models {

EmbeddingImpl::EmbeddingImpl(std::int64_t count, std::int64_t dim) {
  weight = register_parameter("weight", at::empty({count, dim}));
  if (!weight_init_skipped()) torch::nn::init::normal_(weight);
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) { return at::embedding(weight, ids); }

}  // namespace pawtrait::models
