#pragma once

namespace CLI {
class App;
}

namespace pawtrait::cli {

// `pawtrait-cli train`: teach a model the pet from its photos.
void add_train_command(CLI::App& app);

}  // namespace pawtrait::cli
