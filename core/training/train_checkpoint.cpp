#include "training/train_checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/json_file.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"

namespace pawtrait::training {
namespace {

namespace fs = std::filesystem;

std::vector<std::pair<std::int64_t, fs::path>> checkpoints_of(const fs::path& run_dir) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir / "checkpoints", ec)) {
    const std::string name = entry.path().filename().string();
    long long step = 0;
    char tail[32] = {};
    if (std::sscanf(name.c_str(), "step-%lld.%31s", &step, tail) == 2 && std::string(tail) == "safetensors") {
      found.emplace_back(step, entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

at::Tensor cpu_copy(const at::Tensor& t) { return t.detach().to(at::kCPU).clone(); }

}  // namespace

fs::path save_train_checkpoint(const fs::path& run_dir, const NamedParameters& params, torch::optim::AdamW& optimizer,
                               const std::vector<at::Tensor>& ema, const TrainState& state, int keep) {
  tensors::NamedTensors out;
  auto& optimizer_state = optimizer.state();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& [name, p] = params[i];
    out.emplace_back("param/" + name, cpu_copy(p));
    auto it = optimizer_state.find(p.unsafeGetTensorImpl());
    if (it != optimizer_state.end()) {
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      out.emplace_back("adam.exp_avg/" + name, cpu_copy(s.exp_avg()));
      out.emplace_back("adam.exp_avg_sq/" + name, cpu_copy(s.exp_avg_sq()));
      out.emplace_back("adam.step/" + name, at::scalar_tensor(s.step(), at::kLong));
    }
    if (!ema.empty()) out.emplace_back("ema/" + name, cpu_copy(ema[i]));
  }
  out.emplace_back("rng_state", cpu_copy(state.rng_state));
  char name[40];
  std::snprintf(name, sizeof name, "step-%06lld.safetensors", static_cast<long long>(state.step));
  const fs::path file = run_dir / "checkpoints" / name;
  fs::create_directories(file.parent_path());
  // Shortest text that reads back as the same double, whatever the locale.
  auto exact = [](double v) {
    char buffer[40];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
    return std::string(buffer, end);
  };
  tensors::write_safetensors(file, out,
                             {{"pawtrait.step", std::to_string(state.step)},
                              {"pawtrait.smoothed_loss_sum", exact(state.smoothed_loss_sum)},
                              {"pawtrait.smoothing_weight", exact(state.smoothing_weight)},
                              {"pawtrait.loss_scale", exact(state.loss_scale)},
                              {"pawtrait.scaler_good_steps", std::to_string(state.scaler_good_steps)}});
  auto all = checkpoints_of(run_dir);
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
  }
  return file;
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  const auto all = checkpoints_of(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

TrainState load_train_checkpoint(const fs::path& file, const NamedParameters& params, torch::optim::AdamW& optimizer,
                                 const std::vector<at::Tensor>& ema) {
  const auto checkpoint = tensors::SafetensorsFile::open(file);
  auto fetch = [&](const std::string& key, const at::Tensor& like) {
    const auto* entry = checkpoint.find(key);
    if (entry == nullptr) {
      throw Error(file.string() + " has no " + key +
                  "; it belongs to a run with other settings (mode, rank or targets). Resume the run that wrote it, "
                  "or start a new run folder");
    }
    at::Tensor t = checkpoint.tensor(*entry);
    if (t.sizes() != like.sizes()) {
      throw Error(file.string() + ": " + key + " has shape " + c10::str(t.sizes()) + " but this run's is " +
                  c10::str(like.sizes()) + "; start a new run folder for other settings");
    }
    return t.to(like.options());
  };
  at::NoGradGuard no_grad;
  auto& optimizer_state = optimizer.state();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& [name, p] = params[i];
    p.copy_(fetch("param/" + name, p));
    if (checkpoint.contains("adam.step/" + name)) {
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->exp_avg(fetch("adam.exp_avg/" + name, p).clone());
      s->exp_avg_sq(fetch("adam.exp_avg_sq/" + name, p).clone());
      s->step(checkpoint.tensor("adam.step/" + name).item<std::int64_t>());
      optimizer_state[p.unsafeGetTensorImpl()] = std::move(s);
    }
    if (!ema.empty()) ema[i].copy_(fetch("ema/" + name, ema[i]));
  }
  TrainState state;
  const auto& meta = checkpoint.metadata();
  auto number = [&](const char* key) {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error(file.string() + " is not a Pawtrait training checkpoint (no " + key + ")");
    double value = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (ec != std::errc()) throw Error(file.string() + ": unreadable " + key + " \"" + it->second + "\"");
    return value;
  };
  state.step = static_cast<std::int64_t>(number("pawtrait.step"));
  state.smoothed_loss_sum = number("pawtrait.smoothed_loss_sum");
  state.smoothing_weight = number("pawtrait.smoothing_weight");
  state.loss_scale = number("pawtrait.loss_scale");
  state.scaler_good_steps = static_cast<std::int64_t>(number("pawtrait.scaler_good_steps"));
  state.rng_state = checkpoint.tensor("rng_state").clone();
  return state;
}

void rewind_loss_csv(const fs::path& file, std::int64_t step) {
  std::ifstream in(file);
  std::string line, kept = "step,loss,smoothed_loss,validation_loss,lr\n";
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    long long row_step = 0;
    std::from_chars(line.data(), line.data() + line.size(), row_step);
    if (row_step > step) break;
    kept += line + "\n";
  }
  write_file_atomically(file, kept);
}

std::string run_kind(const fs::path& run_dir) {
  const fs::path file = run_dir / "config.json";
  if (!fs::exists(file)) {
    throw Error(run_dir.string() + " has no config.json, so it is not a training run that can be resumed; start a " +
                "new run with --out " + run_dir.string());
  }
  const nlohmann::json json = read_json_file(file);
  if (!json.is_object() || !json.contains("kind") || !json["kind"].is_string()) {
    throw Error(file.string() + " does not say what kind of run it is (no \"kind\"); it was not written by Pawtrait");
  }
  return json["kind"].get<std::string>();
}

}  // namespace pawtrait::training
