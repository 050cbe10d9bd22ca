// Writes the reference's trained SDXL LoRA back through Pawtrait's two writers (kohya's SDXL
// layout and PEFT), so that lora_files_in_diffusers.py can load them into diffusers.
//   sdxl_lora_export TESTDATA OUT_DIR
#include <filesystem>
#include <iostream>

#include "families/sdxl/sdxl_configs.h"
#include "families/sdxl/sdxl_lora.h"
#include "models/lora.h"
#include "models/lora_export.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 3) {
    std::cerr << "usage: sdxl_lora_export TESTDATA OUT_DIR\n";
    return 2;
  }
  try {
    const fs::path sdxl = fs::path(argv[1]) / "sdxl";
    const fs::path out = argv[2];
    fs::create_directories(out);
    const auto configs = pawtrait::families::read_sdxl_configs(sdxl / "sdxl-tiny");
    const auto lora = pawtrait::models::load_lora(sdxl / "reference" / "lora" / "pytorch_lora_weights.safetensors");
    pawtrait::models::save_lora_kohya(out / "pawtrait_kohya_sdxl.safetensors", lora.layers,
                                      {{"ss_base_model", "sdxl-tiny"}},
                                      pawtrait::families::sdxl_kohya_names(configs.unet));
    pawtrait::models::save_lora_peft(out / "pawtrait_peft.safetensors", lora.layers);
    std::cout << out.string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sdxl_lora_export: " << e.what() << "\n";
    return 1;
  }
}
