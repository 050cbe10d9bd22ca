#include "families/sdxl/sdxl_lora.h"

#include "models/checkpoint_keys.h"
#include "models/lora.h"

namespace pawtrait::families {
namespace {

class MergedSdxlLora : public AppliedLora {
 public:
  MergedSdxlLora(StableDiffusionXL& model, const models::LoraFile& lora, double strength)
      : merged_({{"unet", model.unet.get(), sdxl_kohya_names(model.unet->config).unet},
                 {"text_encoder", model.text_encoder.get(), {}},
                 {"text_encoder_2", model.text_encoder_2.get(), {}}},
                lora, strength) {
    format = lora.format;
    layers = static_cast<std::int64_t>(merged_.merged_layers());
  }

 private:
  models::MergedLora merged_;
};

}  // namespace

std::unique_ptr<AppliedLora> merge_sdxl_lora(StableDiffusionXL& model, const std::string& path, double strength) {
  return std::make_unique<MergedSdxlLora>(model, models::load_lora(path), strength);
}

models::KohyaNames sdxl_kohya_names(const models::UNet2DConditionConfig& unet) {
  return {.unet = [unet](const std::string& path) { return models::ldm_unet_module(path, unet); },
          .two_text_encoders = true};
}

}  // namespace pawtrait::families
