#include "families/flux2/flux2_latents.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace pawtrait::families::flux2_latents {
namespace {

// (1, 4C, 1, 1) mean and standard deviation of the patchified latents.
std::pair<at::Tensor, at::Tensor> statistics(const at::Tensor& like, models::AutoencoderKL& vae) {
  if (vae->bn.is_empty()) {
    throw Error(
        "this VAE has no latent statistics (bn.running_mean/var): FLUX.2 needs its own AutoencoderKLFlux2; "
        "use the vae/ folder of the FLUX.2 model");
  }
  if (like.size(1) != vae->bn->running_mean.size(0)) {
    throw Error("the latents have " + std::to_string(like.size(1)) + " patchified channels; the VAE's statistics " +
                std::to_string(vae->bn->running_mean.size(0)));
  }
  const auto options = like.options();
  const at::Tensor mean = vae->bn->running_mean.view({1, -1, 1, 1}).to(options);
  const at::Tensor std = at::sqrt(vae->bn->running_var.view({1, -1, 1, 1}) + vae->config.batch_norm_eps).to(options);
  return {mean, std};
}

}  // namespace

at::Tensor patchify(const at::Tensor& latents) {
  const std::int64_t b = latents.size(0), c = latents.size(1), h = latents.size(2), w = latents.size(3);
  if (h % 2 != 0 || w % 2 != 0) {
    throw Error("FLUX.2 latents must have an even height and width to be patchified; got " + std::to_string(h) + "x" +
                std::to_string(w));
  }
  return latents.view({b, c, h / 2, 2, w / 2, 2}).permute({0, 1, 3, 5, 2, 4}).reshape({b, c * 4, h / 2, w / 2});
}

at::Tensor unpatchify(const at::Tensor& patchified) {
  const std::int64_t b = patchified.size(0), c = patchified.size(1), h = patchified.size(2), w = patchified.size(3);
  return patchified.reshape({b, c / 4, 2, 2, h, w}).permute({0, 1, 4, 2, 5, 3}).reshape({b, c / 4, h * 2, w * 2});
}

at::Tensor pack(const at::Tensor& patchified) {
  const std::int64_t b = patchified.size(0), c = patchified.size(1);
  return patchified.reshape({b, c, patchified.size(2) * patchified.size(3)}).permute({0, 2, 1});
}

at::Tensor unpack(const at::Tensor& tokens, std::int64_t height, std::int64_t width) {
  if (tokens.size(1) != height * width) {
    throw Error("cannot unpack " + std::to_string(tokens.size(1)) + " tokens into a " + std::to_string(height) + "x" +
                std::to_string(width) + " grid");
  }
  // The tokens are row-major (token = y·width + x), so the reference's scatter by position id
  // is this reshape.
  return tokens.permute({0, 2, 1}).reshape({tokens.size(0), tokens.size(2), height, width});
}

at::Tensor normalize(const at::Tensor& patchified, models::AutoencoderKL& vae) {
  const auto [mean, std] = statistics(patchified, vae);
  return (patchified - mean) / std;
}

at::Tensor denormalize(const at::Tensor& patchified, models::AutoencoderKL& vae) {
  const auto [mean, std] = statistics(patchified, vae);
  return patchified * std + mean;
}

at::Tensor encode_image(const at::Tensor& image, models::AutoencoderKL& vae) {
  return normalize(patchify(vae->encode(image).mode()), vae);
}

at::Tensor to_vae_latents(const at::Tensor& tokens, std::int64_t height, std::int64_t width,
                          models::AutoencoderKL& vae) {
  return unpatchify(denormalize(unpack(tokens, height, width), vae));
}

at::Tensor image_position_ids(std::int64_t height, std::int64_t width) {
  const auto longs = at::TensorOptions().dtype(at::kLong);
  at::Tensor ids = at::zeros({1, height * width, 4}, longs);
  ids.select(2, 1).copy_(at::arange(height, longs).repeat_interleave(width).view({1, -1}));
  ids.select(2, 2).copy_(at::arange(width, longs).repeat({height}).view({1, -1}));
  return ids;
}

}  // namespace pawtrait::families::flux2_latents
