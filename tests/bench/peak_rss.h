#pragma once

#include <fstream>
#include <string>

// Peak resident set of this process so far, in MiB (Linux's VmHWM); -1 where unknown.
inline double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}
