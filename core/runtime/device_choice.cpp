#include "runtime/device_choice.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "runtime/runtime_info.h"

namespace pawtrait::runtime {

c10::Device choose_device(const std::string& wanted, const std::string& what, const LogSink& log) {
  if (wanted != "auto" && wanted != "cpu" && wanted != "cuda") {
    throw Error("unknown device \"" + wanted + "\"; use auto, cpu or cuda");
  }
  if (wanted == "cpu") return c10::Device(c10::kCPU);
  const bool cuda = query_runtime().cuda_available;
  if (wanted == "cuda") {
    if (!cuda) {
      throw Error(what +
                  " on cuda was asked for, but this build or machine has no usable CUDA GPU; use the device "
                  "auto or cpu");
    }
    return c10::Device(c10::kCUDA);
  }
  if (cuda) return c10::Device(c10::kCUDA);
  log_to(log, LogLevel::Info, "no CUDA GPU found: " + what + " on the CPU (slow for full-size models)");
  return c10::Device(c10::kCPU);
}

bool computes_bf16(const c10::Device& device) {
  if (device.is_cpu()) return false;
  try {  // a small bf16 matmul either runs or throws on GPUs without bf16
    const at::Tensor probe = at::ones({8, 8}, at::TensorOptions().device(device).dtype(at::kBFloat16));
    (void)at::matmul(probe, probe).sum().item<float>();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

c10::ScalarType choose_weights_dtype(const std::string& wanted, const c10::Device& device) {
  if (wanted == "fp32") return at::kFloat;
  if (wanted == "bf16") return at::kBFloat16;
  if (wanted == "fp16") {
    if (device.is_cpu()) throw Error("fp16 needs a CUDA GPU; on the CPU use fp32 (or auto)");
    return at::kHalf;
  }
  if (wanted != "auto") throw Error("unknown dtype \"" + wanted + "\"; use auto, fp32, fp16 or bf16");
  if (device.is_cpu()) return at::kFloat;
  return computes_bf16(device) ? at::kBFloat16 : at::kHalf;
}

c10::ScalarType choose_mixed_precision(const std::string& wanted, const c10::Device& device, const LogSink& log) {
  if (wanted != "auto" && wanted != "no" && wanted != "fp16" && wanted != "bf16") {
    throw Error("unknown mixed precision \"" + wanted + "\"; use auto, no, fp16 or bf16");
  }
  if (device.is_cpu()) {
    if (wanted == "fp16" || wanted == "bf16") {
      log_to(log, LogLevel::Warning, "mixed precision applies on CUDA GPUs only; training in float32 on the CPU");
    }
    return at::kFloat;
  }
  if (wanted == "no") return at::kFloat;
  if (wanted == "fp16") return at::kHalf;
  if (wanted == "bf16") return at::kBFloat16;
  return computes_bf16(device) ? at::kBFloat16 : at::kHalf;
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf:
      return "fp16";
    case at::kBFloat16:
      return "bf16";
    default:
      return "fp32";
  }
}

}  // namespace pawtrait::runtime
