#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "models/autoencoder_kl.h"

namespace pawtrait::training {

// Each photo's latent distribution, computed once: (n, C, h, w) mean and std; a training
// example is mean + std · ε, a fresh draw every step, as if the VAE encoded it each time.
struct LatentCache {
  at::Tensor mean, std;                  // as encoded
  at::Tensor flipped_mean, flipped_std;  // of the mirrored photos (defined when flipping)
  // Without caching: the photos themselves, encoded again at every draw.
  at::Tensor images;
  models::AutoencoderKL vae{nullptr};
  at::TensorOptions options;
  // With a masked loss: each row's loss weight on the latent grid, (n, 1, h, w), and its mirror's.
  at::Tensor weights, flipped_weights;
  // Which of the run's photos each row is (their order in the photo list); empty: row i is photo i.
  std::vector<std::int64_t> photos;
  std::int64_t size() const { return mean.size(0); }
  std::int64_t photo(std::int64_t row) const { return photos.empty() ? row : photos.at(static_cast<std::size_t>(row)); }
};

// One cache per training picture size (an aspect-ratio bucket), in TrainingPhotos' order.
using LatentGroups = std::vector<LatentCache>;

// The photos' (n, 3, H, W) pixels in [-1, 1] encoded one at a time (that bounds the VAE's
// memory) in `options` (the VAE's device and dtype), and mirrored when `with_flips`.
// Uncached, the photos and the VAE are kept to encode again at every draw.
LatentCache encode_latents(models::AutoencoderKL& vae, const at::Tensor& images, bool with_flips,
                           const at::TensorOptions& options, bool cached);

struct TrainingPhotos;

// Each group's pictures encoded (encode_latents), its rows knowing their photos.
LatentGroups encode_latent_groups(models::AutoencoderKL& vae, const TrainingPhotos& photos, bool with_flips,
                                  const at::TensorOptions& options, bool cached);

// The masked loss's weights of each group's rows: the masks averaged down to the latent grid,
// background_weight + (1 − background_weight) · mask (1 on the pet).
void attach_loss_weights(LatentGroups& groups, const TrainingPhotos& photos, double background_weight);

// One draw of training latents: which photos, which of them mirrored.
struct LatentDraw {
  at::Tensor latents;  // (count, C, h, w) float32, scaled by the VAE's scaling factor
  at::Tensor index;    // (count) long, on the CPU: the photos (LatentCache::photo)
  at::Tensor flipped;  // (count) bool, on the CPU; all false without flips
  at::Tensor weights;  // with a masked loss: (count, 1, h, w) on the latents' device; else undefined
};

// `count` training latents drawn from the cache: random photo, random flip, posterior sample,
// every draw from `gen` (the run's generator, so a resumed run draws the same).
LatentDraw draw_latents(const LatentCache& cache, std::int64_t count, at::Generator& gen, double scaling_factor);

// The same from one of the groups, all `count` of one size: the first photo drawn from all the
// groups' photos alike (so each photo is drawn as often as without buckets), the rest from its
// group. With one group, exactly draw_latents of it.
LatentDraw draw_latents(const LatentGroups& groups, std::int64_t count, at::Generator& gen, double scaling_factor);

}  // namespace pawtrait::training
