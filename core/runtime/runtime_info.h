#pragma once

#include <string>

namespace pawtrait::runtime {

// What LibTorch in this process can use, for `pawtrait-cli info --system` and the GUI.
struct RuntimeInfo {
  std::string torch_version;
  bool cuda_built = false;      // the CUDA backend is linked in
  bool cuda_available = false;  // and a GPU answers
  int cuda_devices = 0;
  int cpu_threads = 0;
};

RuntimeInfo query_runtime();

// Sets LibTorch's intra-op threads (0 = one per core) and returns what is now in use.
// LibTorch's OpenMP default can be 1 on small machines, so programs call this at start-up.
int configure_cpu_threads(int requested = 0);

}  // namespace pawtrait::runtime
