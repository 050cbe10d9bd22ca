// libFuzzer target: any bytes as a LoRA file, in every layout Pawtrait reads (PEFT, diffusers'
// older names, kohya with alphas, FLUX.2's original names with fused q/k/v), either load and
// apply to a small model or are refused with pawtrait::Error: key parsing, pairing, ranks,
// alphas and the shape checks against the model's weights. LibTorch's own errors count as
// crashes here, as they reach the person as a bug report.
#include <unistd.h>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "families/flux2/flux2_lora_names.h"
#include "models/lora.h"

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
  static const fs::path file =
      fs::temp_directory_path() / ("pawtrait-fuzz-lora-" + std::to_string(::getpid()) + ".safetensors");
  return file;
}

// Modules "0" and "1" (Linear 8→6 and 6→4): LoRA layers "unet.0", "lora_unet_1", "transformer.1"...
torch::nn::Sequential& model() {
  static torch::nn::Sequential m(torch::nn::Linear(8, 6), torch::nn::Linear(6, 4));
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratch(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  using namespace pawtrait;
  try {
    const models::LoraFile lora = models::load_lora(scratch());
    try {
      const models::MergedLora merged({{"unet", model().ptr().get(), {}}, {"transformer", model().ptr().get(), {}}},
                                      lora, 0.5);
    } catch (const Error&) {
    }
    const models::LoraFile klein = families::klein_lora_in_diffusers_names(lora);
    const models::MergedLora merged({{"transformer", model().ptr().get(), {}}}, klein, 1.0);
  } catch (const Error&) {
  }
  return 0;
}
