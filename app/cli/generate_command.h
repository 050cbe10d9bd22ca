#pragma once

namespace CLI {
class App;
}

namespace pawtrait::cli {

// `pawtrait-cli generate`: text-to-image with a Stable Diffusion model, writing PNGs that
// carry their settings.
void add_generate_command(CLI::App& app);

}  // namespace pawtrait::cli
