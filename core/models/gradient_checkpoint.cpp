#include "models/gradient_checkpoint.h"

#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <array>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

namespace pawtrait::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// saved_data holds IValues only; a capsule carries the function to re-run.
struct FnHolder : torch::CustomClassHolder {
  explicit FnHolder(CheckpointedFn f) : fn(std::move(f)) {}
  CheckpointedFn fn;
};

// Autocast state is thread-local and the backward pass runs on the autograd engine's threads,
// where it is off: the recomputation must cast as the forward did, or its activations (and so
// the gradients) differ. PyTorch's checkpoint restores the device's and the CPU's state.
constexpr std::array<at::DeviceType, 2> kAutocastDevices = {at::kCUDA, at::kCPU};

std::string enabled_key(at::DeviceType device) { return "autocast_enabled_" + c10::DeviceTypeName(device); }
std::string dtype_key(at::DeviceType device) { return "autocast_dtype_" + c10::DeviceTypeName(device); }

// Scoped like torch.autocast: the weight casts cached while it is entered are dropped when the
// outermost scope ends, so no half-precision copy of a weight outlives the step that uses it.
class AutocastScope {
 public:
  explicit AutocastScope(const AutogradContext& ctx) {
    for (std::size_t i = 0; i < kAutocastDevices.size(); ++i) {
      const at::DeviceType device = kAutocastDevices[i];
      previous_[i] = {at::autocast::is_autocast_enabled(device), at::autocast::get_autocast_dtype(device)};
      at::autocast::set_autocast_enabled(device, ctx.saved_data.at(enabled_key(device)).toBool());
      at::autocast::set_autocast_dtype(device, ctx.saved_data.at(dtype_key(device)).toScalarType());
    }
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    for (std::size_t i = 0; i < kAutocastDevices.size(); ++i) {
      at::autocast::set_autocast_enabled(kAutocastDevices[i], previous_[i].first);
      at::autocast::set_autocast_dtype(kAutocastDevices[i], previous_[i].second);
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  std::array<std::pair<bool, at::ScalarType>, kAutocastDevices.size()> previous_{};
};

// Inputs, in order: a, b (a graph input only when defined), the trainable parameters, fn.
// Only a and b are saved; the parameters are kept by the module, and activations not at all.
struct Checkpoint : torch::autograd::Function<Checkpoint> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const std::optional<at::Tensor>& b,
                            at::TensorList parameters, const CheckpointedFn& fn) {
    // Function::apply runs this with grad mode off: fn records no graph here.
    ctx->saved_data["fn"] = c10::IValue::make_capsule(c10::make_intrusive<FnHolder>(fn));
    for (const at::DeviceType device : kAutocastDevices) {
      ctx->saved_data[enabled_key(device)] = at::autocast::is_autocast_enabled(device);
      ctx->saved_data[dtype_key(device)] = at::autocast::get_autocast_dtype(device);
    }
    const at::Tensor b_tensor = b.value_or(at::Tensor());
    variable_list saved{a, b_tensor};
    saved.insert(saved.end(), parameters.begin(), parameters.end());
    ctx->save_for_backward(std::move(saved));
    return fn(a, b_tensor);
  }

  // Re-runs fn with grad mode on from detached copies of a and b, then differentiates that
  // graph alone. The gradients are returned, not accumulated here, so the parameters' .grad
  // is written by the outer backward as without checkpointing (hooks, autograd::grad and
  // backward(inputs=...) behave the same).
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const bool has_b = saved[1].defined();
    const std::size_t num_parameters = saved.size() - 2;
    // Gradient slots as apply() counts them: a, b, each parameter, fn.
    variable_list grads(3 + num_parameters);

    variable_list wrt;
    std::vector<std::size_t> wrt_slot;
    auto detached = [&](const at::Tensor& input, std::size_t slot, std::size_t edge) {
      if (!input.defined()) return input;
      const bool needs = ctx->needs_input_grad(edge);
      at::Tensor copy = input.detach().requires_grad_(needs);
      if (needs) {
        wrt.push_back(copy);
        wrt_slot.push_back(slot);
      }
      return copy;
    };
    const at::Tensor a = detached(saved[0], 0, 0);
    const at::Tensor b = detached(saved[1], 1, 1);
    const std::size_t first_parameter_edge = has_b ? 2 : 1;
    for (std::size_t i = 0; i < num_parameters; ++i) {
      if (!ctx->needs_input_grad(first_parameter_edge + i)) continue;
      wrt.push_back(saved[2 + i]);
      wrt_slot.push_back(2 + i);
    }
    if (wrt.empty()) return grads;

    const auto holder = c10::static_intrusive_pointer_cast<FnHolder>(ctx->saved_data.at("fn").toCapsule());
    at::Tensor out;
    {
      const AutocastScope autocast(*ctx);
      const torch::AutoGradMode grad_mode(true);
      out = holder->fn(a, b);
    }
    if (!out.requires_grad()) return grads;  // fn does not depend on anything that needs a gradient
    const variable_list computed = torch::autograd::grad({out}, wrt, {grad_outputs[0]}, /*retain_graph=*/false,
                                                         /*create_graph=*/false, /*allow_unused=*/true);
    for (std::size_t i = 0; i < wrt.size(); ++i) grads[wrt_slot[i]] = computed[i];
    return grads;
  }
};

}  // namespace

at::Tensor checkpointed(const CheckpointedFn& fn, const at::Tensor& a, const at::Tensor& b,
                        const std::vector<at::Tensor>& parameters) {
  TORCH_CHECK(a.defined(), "checkpointed: the first input must be a defined tensor");
  if (!at::GradMode::is_enabled()) return fn(a, b);
  // Each parameter once: a tensor listed twice would receive its gradient twice.
  variable_list trainable;
  std::unordered_set<const c10::TensorImpl*> seen;
  for (const at::Tensor& p : parameters) {
    if (p.defined() && p.requires_grad() && seen.insert(p.unsafeGetTensorImpl()).second) trainable.push_back(p);
  }
  if (!a.requires_grad() && !(b.defined() && b.requires_grad()) && trainable.empty()) return fn(a, b);
  const std::optional<at::Tensor> b_input = b.defined() ? std::optional<at::Tensor>(b) : std::nullopt;
  return Checkpoint::apply(a, b_input, at::TensorList(trainable), fn);
}

}  // namespace pawtrait::models
