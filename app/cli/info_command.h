#pragma once

namespace CLI {
class App;
}

namespace pawtrait::cli {

// `pawtrait-cli info <path> [--json]`: what a model folder or file holds.
void add_info_command(CLI::App& app);

}  // namespace pawtrait::cli
