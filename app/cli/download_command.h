#pragma once

namespace CLI {
class App;
}

namespace pawtrait::cli {

// `pawtrait-cli download <repo-id> [--revision main] [--variant fp16] [--dest DIR]`: fetch a
// diffusers Stable Diffusion model from the Hugging Face hub into the models cache.
void add_download_command(CLI::App& app);

}  // namespace pawtrait::cli
