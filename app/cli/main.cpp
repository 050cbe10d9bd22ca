// pawtrait-cli: the headless twin of the Pawtrait desktop app.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/download_command.h"
#include "cli/generate_command.h"
#include "cli/info_command.h"
#include "cli/train_command.h"
#include "common/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Pawtrait: teach Stable Diffusion your pet from a few photos, then generate new pictures of it.",
               "pawtrait-cli"};
  app.set_version_flag("--version", std::string("pawtrait-cli ") + PAWTRAIT_VERSION);
  app.require_subcommand(1);
  pawtrait::cli::add_info_command(app);
  pawtrait::cli::add_generate_command(app);
  pawtrait::cli::add_train_command(app);
  pawtrait::cli::add_download_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const pawtrait::Error& e) {
    std::cerr << "pawtrait-cli: error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    // LibTorch's messages run on with a stack trace: its first line says what went wrong; the
    // whole text only where a developer asks for it.
    const std::string what = e.what();
    if (std::getenv("PAWTRAIT_DEBUG") != nullptr) std::cerr << what << '\n';
    std::cerr << "pawtrait-cli: unexpected error: " << what.substr(0, what.find('\n'))
              << " (a bug in Pawtrait: please report it with the command that did this)\n";
    return 2;
  }
  return 0;
}
