// Writes the reference's trained SDXL LoRA back through Pawtrait's two writers (kohya's SDXL
// layout and PEFT), and trains one of Pawtrait's own (two steps on the tiny model, adapters on
// the UNet and both text encoders) with what it does to the model once merged: the UNet's
// output at unet_io's t501 inputs and the encoded prompt. lora_files_in_diffusers.py loads
// them all into diffusers.
//   sdxl_lora_export TESTDATA OUT_DIR
#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>

#include "families/sdxl/sdxl_configs.h"
#include "families/sdxl/sdxl_lora.h"
#include "families/sdxl/sdxl_model.h"
#include "models/lora.h"
#include "models/lora_export.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "training/dreambooth.h"

namespace {

namespace fs = std::filesystem;

// A Pawtrait run's LoRA files, and the merged model's outputs in expected_after_training.safetensors.
void train_and_measure(const fs::path& testdata, const fs::path& out) {
  namespace training = pawtrait::training;
  training::TrainRequest r;
  r.photos = {testdata / "photos"};
  r.model = testdata / "sdxl" / "sdxl-tiny";
  r.run_dir = out / "run";
  fs::remove_all(r.run_dir);
  r.device = "cpu";
  r.steps = 2;
  r.rank = 4;
  r.alpha = 4;
  r.learning_rate = 1e-2;  // two steps that move every adapter well past rounding
  r.train_text_encoder = true;
  r.preview_every = r.validate_every = r.checkpoint_every = 0;
  const training::TrainResult result = training::train_dreambooth(r);
  fs::copy_file(result.lora_kohya, out / "trained_kohya_sdxl.safetensors", fs::copy_options::overwrite_existing);
  fs::copy_file(result.lora_peft, out / "trained_peft.safetensors", fs::copy_options::overwrite_existing);

  at::NoGradGuard no_grad;
  pawtrait::families::StableDiffusionXLModel model(pawtrait::families::load_sdxl(r.model, {}));
  const auto merged = model.apply_lora(result.lora_kohya.string(), 1.0);
  const auto io = pawtrait::tensors::SafetensorsFile::open(testdata / "sdxl" / "reference" / "unet_io.safetensors");
  const at::Tensor unet = model.modules().unet->forward(io.tensor("t501.sample"), io.tensor("t501.timestep"),
                                                        io.tensor("t501.encoder_hidden_states"),
                                                        io.tensor("t501.text_embeds"), io.tensor("t501.time_ids"));
  const auto prompt = model.encode("a photo of sks dog", {}, {});
  pawtrait::tensors::write_safetensors(out / "expected_after_training.safetensors",
                                       {{"unet.t501", unet.contiguous()},
                                        {"prompt_embeds", prompt.at("context").contiguous()},
                                        {"pooled_prompt_embeds", prompt.at("pooled").contiguous()}});
}

}  // namespace

int main(int argc, char** argv) {
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
    train_and_measure(argv[1], out);
    std::cout << out.string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sdxl_lora_export: " << e.what() << "\n";
    return 1;
  }
}
