#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

#include "common/log.h"

namespace pawtrait::runtime {

// "auto" (the default everywhere): CUDA when this LibTorch has it and a GPU answers, else
// the CPU; "cpu" or "cuda" force one. Throws pawtrait::Error for "cuda" without a GPU and
// for any other name. `what` names the job in the messages ("generating", "training").
c10::Device choose_device(const std::string& wanted, const std::string& what, const LogSink& log = {});

// The dtype of the weights that generate: "auto" is bf16 on a GPU that computes it, fp16
// on older GPUs (each family upcasts what needs float32, such as the SD VAE), float32 on
// the CPU; "fp32", "fp16", "bf16" as named. fp16 on the CPU is refused: LibTorch's CPU
// kernels for it are slow or missing.
c10::ScalarType choose_weights_dtype(const std::string& wanted, const c10::Device& device);

// Mixed precision for training: "auto" is bf16 where the GPU computes it, else fp16 with
// loss scaling; "no" is float32; on the CPU always float32 (a warning says so when fp16 or
// bf16 was asked for).
c10::ScalarType choose_mixed_precision(const std::string& wanted, const c10::Device& device, const LogSink& log = {});

// Whether a bf16 matmul runs on this GPU (a small probe; false on the CPU).
bool computes_bf16(const c10::Device& device);

// "fp32", "fp16", "bf16": the names requests and PNGs use.
std::string dtype_name(c10::ScalarType dtype);

}  // namespace pawtrait::runtime
