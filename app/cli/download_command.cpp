#include "cli/download_command.h"

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/error.h"
#include "hub/hub_client.h"
#include "hub/model_cache.h"

namespace pawtrait::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_download_interrupt(int) {
  // The first Ctrl-C stops the transfer and keeps the .part files; a second one ends at once.
  if (g_cancel.exchange(true)) std::_Exit(130);
}

struct DownloadOptions {
  hub::DownloadRequest request;
  std::string dest;
  bool quiet = false;
};

std::string format_eta(double seconds) {
  if (seconds < 0) return "-";
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

void print_progress(const hub::DownloadProgress& p) {
  const double fraction = p.total_total > 0 ? static_cast<double>(p.total_done) / p.total_total : 0.0;
  const int width = 24;
  const int filled = std::min(width, static_cast<int>(width * fraction));
  std::fprintf(stderr, "\r  [%s%s] %5.1f%%  %s / %s  %s/s  ETA %s  file %zu/%zu %s\033[K",
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), 100 * fraction,
               hub::format_bytes(p.total_done).c_str(), hub::format_bytes(p.total_total).c_str(),
               hub::format_bytes(static_cast<std::uint64_t>(p.bytes_per_second)).c_str(),
               format_eta(p.eta_seconds).c_str(), p.file_index + 1, p.file_count, p.file.c_str());
  std::fflush(stderr);
}

int run_download(DownloadOptions o) {
  hub::DownloadRequest request = o.request;
  if (!o.dest.empty()) request.dest = o.dest;
  const bool terminal = !o.quiet && ::isatty(STDERR_FILENO) != 0;
  bool line_open = false;

  hub::DownloadCallbacks callbacks;
  callbacks.cancel = &g_cancel;
  callbacks.log = [&](LogLevel level, const std::string& line) {
    if (o.quiet || level < LogLevel::Info) return;
    if (line_open) std::fprintf(stderr, "\r\033[K");
    std::cerr << (level == LogLevel::Warning ? "warning: " : "") << line << '\n';
  };
  if (terminal) {
    callbacks.on_progress = [&](const hub::DownloadProgress& p) {
      print_progress(p);
      line_open = true;
    };
  }

  g_cancel = false;
  std::signal(SIGINT, on_download_interrupt);
  hub::DownloadResult result;
  try {
    result = hub::HubClient().download(request, callbacks);
  } catch (...) {
    std::signal(SIGINT, SIG_DFL);
    if (line_open) std::fprintf(stderr, "\n");
    throw;
  }
  std::signal(SIGINT, SIG_DFL);
  if (line_open) std::fprintf(stderr, "\n");
  if (result.cancelled) {
    std::cerr << "stopped: the partial download in " << result.folder.string()
              << " is kept; run the same command again to continue\n";
    return 130;
  }
  if (result.already_complete && !o.quiet) std::cerr << "already downloaded (commit " << result.commit << ")\n";
  std::cout << result.folder.string() << std::endl;
  return 0;
}

}  // namespace

void add_download_command(CLI::App& app) {
  auto o = std::make_shared<DownloadOptions>();
  CLI::App* cmd = app.add_subcommand(
      "download", "Download a diffusers Stable Diffusion model from the Hugging Face hub (resumable, verified)");
  cmd->footer(
      "Reads HF_TOKEN (for gated or private models; sent only over https or to this machine),\n"
      "HF_ENDPOINT (a hub mirror) and CURL_CA_BUNDLE (certificates to trust, for a mirror or proxy with\n"
      "its own). Ctrl-C stops and keeps what was fetched; the same command continues. Two downloads into\n"
      "one folder never run at once. Prints the model folder at the end.");
  cmd->add_option("repo-id", o->request.repo_id,
                  "The model's id on the hub, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5")
      ->required();
  cmd->add_option("--revision", o->request.revision, "A branch, tag or commit")->capture_default_str();
  cmd->add_option("--variant", o->request.variant,
                  "Weights variant, e.g. fp16 (components without it get the plain file)");
  cmd->add_option("--dest", o->dest, "Model folder (default: $XDG_DATA_HOME/pawtrait/models/<org>--<name>)");
  cmd->add_flag("--quiet,-q", o->quiet, "Print only the model folder");
  cmd->callback([o] {
    const int code = run_download(*o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace pawtrait::cli
