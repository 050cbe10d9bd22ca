// Text-to-image throughput and the pipeline's own overhead: one JSON line per run with the
// wall time and how much of it the text encoder, UNet and VAE took.
//   pipeline_bench MODEL_DIR STEPS SAMPLER WIDTH HEIGHT REPEATS
#include <iostream>
#include <string>

#include "families/stable_diffusion/stable_diffusion_model.h"
#include "pipeline/text_to_image.h"
#include "runtime/runtime_info.h"

int main(int argc, char** argv) {
  if (argc < 7) {
    std::cerr << "usage: pipeline_bench MODEL_DIR STEPS SAMPLER WIDTH HEIGHT REPEATS\n";
    return 2;
  }
  pawtrait::runtime::configure_cpu_threads();
  pawtrait::models::StableDiffusion model = pawtrait::models::load_stable_diffusion(argv[1]);
  pawtrait::families::StableDiffusionModel diffusion(model,
                                                     pawtrait::models::ClipTokenizer::load(*model.tokenizer_dir));
  pawtrait::pipeline::TextToImage t2i(diffusion);
  pawtrait::pipeline::GenerateRequest r;
  r.model = argv[1];
  r.prompt = "a photo of sks dog in the snow";
  r.negative_prompt = "blurry";
  r.steps = std::stoll(argv[2]);
  r.sampler = argv[3];
  r.width = std::stoll(argv[4]);
  r.height = std::stoll(argv[5]);
  const int repeats = std::stoi(argv[6]);
  for (int i = 0; i < repeats; ++i) {
    r.seed = static_cast<std::uint64_t>(i);
    t2i.generate(r);
    const auto& t = t2i.last_timings();
    const double inside = t.text_encoder + t.unet + t.vae;
    std::cout << "{\"model\": \"" << argv[1] << "\", \"steps\": " << r.steps << ", \"total\": " << t.total
              << ", \"text_encoder\": " << t.text_encoder << ", \"unet\": " << t.unet << ", \"vae\": " << t.vae
              << ", \"unet_calls\": " << t.unet_calls << ", \"overhead_share\": " << (t.total - inside) / t.total
              << ", \"unet_evals_per_second\": " << t.unet_calls / t.unet << "}" << std::endl;
  }
  return 0;
}
