#include "training/latent_cache.h"

#include <ATen/ATen.h>

#include <utility>
#include <vector>

#include "common/error.h"
#include "training/photo_dataset.h"

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

LatentGroups encode_latent_groups(models::AutoencoderKL& vae, const TrainingPhotos& photos, bool with_flips,
                                  const at::TensorOptions& options, bool cached) {
  LatentGroups groups;
  for (const PhotoGroup& group : photos.groups) {
    groups.push_back(encode_latents(vae, group.pixels, with_flips, options, cached));
    groups.back().photos = group.photos;
  }
  return groups;
}

void attach_loss_weights(LatentGroups& groups, const TrainingPhotos& photos, double background_weight) {
  for (std::size_t g = 0; g < groups.size(); ++g) {
    LatentCache& cache = groups[g];
    const at::Tensor& masks = photos.groups.at(g).masks;
    if (!masks.defined()) throw Error("a masked loss needs the photos' masks");
    const at::Tensor pooled = at::adaptive_avg_pool2d(masks, {cache.mean.size(2), cache.mean.size(3)});
    cache.weights = (background_weight + (1.0 - background_weight) * pooled).to(cache.mean.device());
    if (cache.flipped_mean.defined()) cache.flipped_weights = cache.weights.flip({3});
  }
}

namespace {

// The loss weights of the drawn rows, mirrored with their photos; undefined without a mask.
at::Tensor drawn_weights(const LatentCache& cache, const LatentDraw& draw) {
  if (!cache.weights.defined()) return {};
  const at::Tensor index = draw.index.to(cache.weights.device());
  const at::Tensor plain = cache.weights.index_select(0, index);
  if (!cache.flipped_weights.defined()) return plain;
  const at::Tensor flip = draw.flipped.view({-1, 1, 1, 1}).to(plain.device());
  return at::where(flip, cache.flipped_weights.index_select(0, index), plain);
}

// The rows `index` of the cache, each mirrored at random, a posterior sample each.
LatentDraw draw_rows(const LatentCache& cache, at::Tensor rows, at::Generator& gen, double scaling_factor) {
  const std::int64_t count = rows.size(0);
  LatentDraw draw;
  draw.index = std::move(rows);
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
    draw.weights = drawn_weights(cache, draw);
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
  draw.weights = drawn_weights(cache, draw);
  return draw;
}

// The draw's rows as the run's photos.
LatentDraw as_photos(LatentDraw draw, const LatentCache& cache) {
  if (cache.photos.empty()) return draw;
  const at::Tensor photos = at::tensor(cache.photos, at::kLong);
  draw.index = photos.index_select(0, draw.index);
  return draw;
}

}  // namespace

LatentDraw draw_latents(const LatentCache& cache, std::int64_t count, at::Generator& gen, double scaling_factor) {
  return as_photos(draw_rows(cache, at::randint(cache.size(), {count}, gen, at::kLong), gen, scaling_factor), cache);
}

LatentDraw draw_latents(const LatentGroups& groups, std::int64_t count, at::Generator& gen, double scaling_factor) {
  if (groups.empty()) throw Error("no training pictures to draw from");
  if (groups.size() == 1) return draw_latents(groups.front(), count, gen, scaling_factor);
  std::int64_t total = 0;
  for (const LatentCache& g : groups) total += g.size();
  std::int64_t first = at::randint(total, {1}, gen, at::kLong).item<std::int64_t>();
  std::size_t group = 0;
  while (first >= groups[group].size()) first -= groups[group++].size();
  const LatentCache& cache = groups[group];
  at::Tensor index = at::full({1}, first, at::kLong);
  if (count > 1) index = at::cat({index, at::randint(cache.size(), {count - 1}, gen, at::kLong)});
  return as_photos(draw_rows(cache, index, gen, scaling_factor), cache);
}

}  // namespace pawtrait::training
