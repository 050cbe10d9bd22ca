#include "families/sdxl/sdxl_single_file.h"

#include <set>
#include <vector>

#include "common/error.h"
#include "families/model_kinds.h"
#include "models/checkpoint_keys.h"
#include "tensors/safetensors_reader.h"

namespace pawtrait::families {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// How many blocks "<prefix>N." a file has (transformer depth, text encoder layers).
std::size_t count_blocks(const tensors::SafetensorsFile& file, const std::string& prefix) {
  std::set<std::string> indices;
  for (const auto& entry : file.entries()) {
    if (!entry.name.starts_with(prefix)) continue;
    const std::string rest = entry.name.substr(prefix.size());
    indices.insert(rest.substr(0, rest.find('.')));
  }
  return indices.size();
}

}  // namespace

SdxlConfigs detect_sdxl_single_file(const tensors::SafetensorsFile& file) {
  const std::string& source = file.source();
  const std::string unet = models::kLdmUnetPrefix;
  const std::string one = kSgmTextEncoderPrefix;
  const std::string two = kSgmTextEncoder2Prefix;
  auto shape = [&](const std::string& name) {
    const tensors::TensorEntry* entry = file.find(name);
    return entry != nullptr ? entry->shape : std::vector<std::int64_t>{};
  };

  const std::vector<std::int64_t> conv_in = shape(unet + "input_blocks.0.0.weight");
  if (conv_in.size() == 4 && conv_in[1] == 9) {
    throw Error(source +
                " is a Stable Diffusion XL inpainting checkpoint (its UNet takes 9 input channels: latents, mask "
                "and masked picture), which is not supported yet. " +
                supported_kinds() + ".");
  }
  if (file.contains("edm_mean") || file.contains("edm_vpred.sigma_max")) {
    throw Error(source +
                " is an SDXL-shaped checkpoint trained with EDM noise (Playground v2.5 or an EDM v-prediction "
                "fine-tune), which is not supported yet. " +
                supported_kinds() + ".");
  }

  SdxlConfigs c = sdxl_base_configs();
  std::vector<std::string> differs;
  auto expect_shape = [&](const std::string& what, const std::string& name, const std::vector<std::int64_t>& want) {
    const std::vector<std::int64_t> found = shape(name);
    if (found != want) {
      differs.push_back(what + " " + (found.empty() ? "missing" : shape_text(found)) + " where SDXL has " +
                        shape_text(want));
    }
  };
  auto expect_count = [&](const std::string& what, const std::string& prefix, std::size_t want) {
    const std::size_t found = count_blocks(file, prefix);
    if (found != want) {
      differs.push_back(what + " " + std::to_string(found) + " where SDXL has " + std::to_string(want));
    }
  };
  expect_shape("UNet input", unet + "input_blocks.0.0.weight", {320, 4, 3, 3});
  expect_shape("size conditioning", unet + "label_emb.0.0.weight", {1280, 2816});
  expect_shape("cross-attention", unet + "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", {640, 2048});
  expect_count("transformer depth of the middle block", unet + "middle_block.1.transformer_blocks.", 10);
  const bool hub_names = file.contains(one + "text_model.embeddings.token_embedding.weight");
  expect_shape("first text encoder", one + (hub_names ? "text_model." : "") + "embeddings.token_embedding.weight",
               {49408, 768});
  expect_count("first text encoder layers", one + (hub_names ? "text_model." : "") + "encoder.layers.", 12);
  expect_shape("second text encoder", two + "token_embedding.weight", {49408, 1280});
  expect_shape("text projection", two + "text_projection", {1280, 1280});
  expect_count("second text encoder layers", two + "transformer.resblocks.", 32);
  if (!differs.empty()) {
    std::string list;
    for (const std::string& d : differs) list += (list.empty() ? "" : "; ") + d;
    throw Error(source + " is a Stable Diffusion XL checkpoint, but not in SDXL 1.0 base's shapes (" + list +
                "). Pass --model-config with a diffusers SDXL folder of config files (unet/, vae/, text_encoder/, "
                "text_encoder_2/, tokenizer/, tokenizer_2/, scheduler/) that describes it.");
  }
  if (file.contains("v_pred")) {
    c.scheduler.prediction_type = "v_prediction";
    if (file.contains("ztsnr")) c.scheduler.rescale_betas_zero_snr = true;
  }
  return c;
}

}  // namespace pawtrait::families
