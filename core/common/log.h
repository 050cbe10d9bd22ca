#pragma once

#include <functional>
#include <string>

namespace pawtrait {

enum class LogLevel { Debug, Info, Warning, Error };

// Where a job's log lines go. Each request carries its own (no global logger); an empty
// sink drops them.
using LogSink = std::function<void(LogLevel, const std::string&)>;

inline void log_to(const LogSink& sink, LogLevel level, const std::string& text) {
  if (sink) sink(level, text);
}

}  // namespace pawtrait
