#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "models/autoencoder_kl.h"

// The three latent layouts of FLUX.2 and the moves between them, as Flux2KleinPipeline makes
// them (C = the VAE's latent channels, 32):
//   VAE latents      (b, C, h, w)             what vae.encode gives and vae.decode takes;
//   patchified       (b, 4C, h/2, w/2)        2×2 neighbours stacked, channel c·4 + 2·dy + dx,
//                                              BN-normalised: the pipeline's `latents=` input;
//   packed tokens    (b, (h/2)(w/2), 4C)      row-major tokens, what the transformer sees.
namespace pawtrait::families::flux2_latents {

at::Tensor patchify(const at::Tensor& latents);
at::Tensor unpatchify(const at::Tensor& patchified);
at::Tensor pack(const at::Tensor& patchified);
// The inverse of pack for a (height, width) token grid.
at::Tensor unpack(const at::Tensor& tokens, std::int64_t height, std::int64_t width);

// (x - running_mean) / sqrt(running_var + batch_norm_eps) per patchified channel, and back,
// with the VAE's "bn" statistics in the tensor's dtype. Throws pawtrait::Error for a VAE
// without them (not an AutoencoderKLFlux2).
at::Tensor normalize(const at::Tensor& patchified, models::AutoencoderKL& vae);
at::Tensor denormalize(const at::Tensor& patchified, models::AutoencoderKL& vae);

// What training and image conditioning feed the transformer: the posterior's mode of `image`
// ((b, 3, H, W) in [-1, 1]), patchified and normalised (the pipeline's _encode_vae_image).
at::Tensor encode_image(const at::Tensor& image, models::AutoencoderKL& vae);
// What the pipeline decodes at the end: packed tokens of a (height, width) grid back to VAE
// latents (unpacked, de-normalised, unpatchified): the output_type="latent" result.
at::Tensor to_vae_latents(const at::Tensor& tokens, std::int64_t height, std::int64_t width,
                          models::AutoencoderKL& vae);

// The image tokens' position ids (_prepare_latent_ids): (1, height·width, 4) int64 rows
// (0, y, x, 0) in row-major order.
at::Tensor image_position_ids(std::int64_t height, std::int64_t width);

}  // namespace pawtrait::families::flux2_latents
