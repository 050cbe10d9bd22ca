#pragma once

#include <stdexcept>
#include <string>

namespace pawtrait {

// A failure the user can act on: the message says what went wrong, with which file or
// field, and what to do. Thrown inside core, caught at the job boundary (CLI exit code,
// GUI dialog). Programming errors use TORCH_CHECK or assertions instead.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace pawtrait
