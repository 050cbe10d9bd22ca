#include "runtime/runtime_info.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceType.h>
#include <torch/version.h>

#include <thread>

namespace pawtrait::runtime {

RuntimeInfo query_runtime() {
  RuntimeInfo info;
  info.torch_version = TORCH_VERSION;
  info.cuda_built = at::hasCUDA();
  if (info.cuda_built) {
    info.cuda_devices = static_cast<int>(at::getNumGPUs());
    info.cuda_available = info.cuda_devices > 0;
  }
  info.cpu_threads = at::get_num_threads();
  return info;
}

int configure_cpu_threads(int requested) {
  int threads = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  at::set_num_threads(threads);
  return at::get_num_threads();
}

}  // namespace pawtrait::runtime
