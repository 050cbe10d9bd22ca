#include "training/latent_cache.h"

#include <ATen/ATen.h>

#include <utility>
#include <vector>

namespace pawtrait::training {

LatentCache encode_latents(models::AutoencoderKL& vae, const at::Tensor& images, bool with_flips,
                           const at::TensorOptions& options, bool cached) {
  at::NoGradGuard no_grad;
  auto encode = [&](const at::Tensor& batch) {
    std::vector<at::Tensor> means, stds;
    for (std::int64_t i = 0; i < batch.size(0); ++i) {
      const auto posterior = vae->encode(batch.slice(0, i, i + 1).to(options));
      means.push_back(posterior.mean.to(at::kFloat));
      stds.push_back(posterior.std.to(at::kFloat));
    }
    return std::make_pair(at::cat(means), at::cat(stds));
  };
  LatentCache cache;
  std::tie(cache.mean, cache.std) = encode(images);
  if (with_flips) std::tie(cache.flipped_mean, cache.flipped_std) = encode(images.flip({3}));
  if (!cached) {
    cache.images = images;
    cache.vae = vae;
    cache.options = options;
  }
  return cache;
}

LatentDraw draw_latents(const LatentCache& cache, std::int64_t count, at::Generator& gen, double scaling_factor) {
  LatentDraw draw;
  draw.index = at::randint(cache.size(), {count}, gen, at::kLong);
  draw.flipped = at::zeros({count}, at::kBool);
  if (cache.vae) {  // uncached: the VAE encodes this step's photos
    at::Tensor images = cache.images.index_select(0, draw.index);
    if (cache.flipped_mean.defined()) {
      draw.flipped = at::rand({count}, gen) < 0.5;
      images = at::where(draw.flipped.view({count, 1, 1, 1}), images.flip({3}), images);
    }
    at::NoGradGuard no_grad;
    models::AutoencoderKL vae = cache.vae;  // a handle: the module itself is shared
    const auto posterior = vae->encode(images.to(cache.options));
    const at::Tensor eps = at::randn(posterior.mean.sizes(), gen).to(posterior.mean.device());
    draw.latents = (posterior.mean.to(at::kFloat) + posterior.std.to(at::kFloat) * eps) * scaling_factor;
    return draw;
  }
  const at::Tensor index = draw.index.to(cache.mean.device());
  at::Tensor mean = cache.mean.index_select(0, index);
  at::Tensor std = cache.std.index_select(0, index);
  if (cache.flipped_mean.defined()) {
    draw.flipped = at::rand({count}, gen) < 0.5;
    const at::Tensor flip = draw.flipped.view({count, 1, 1, 1}).to(mean.device());
    mean = at::where(flip, cache.flipped_mean.index_select(0, index), mean);
    std = at::where(flip, cache.flipped_std.index_select(0, index), std);
  }
  const at::Tensor eps = at::randn(mean.sizes(), gen).to(mean.device());
  draw.latents = (mean + std * eps) * scaling_factor;
  return draw;
}

}  // namespace pawtrait::training
