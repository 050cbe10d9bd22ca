// libFuzzer target: any bytes as a scheduler_config.json (the Python-style JSON reader, then
// the config's type and value checks) either give a config or throw pawtrait::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/json_file.h"
#include "schedulers/scheduler_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto json = pawtrait::parse_python_json(text, "fuzz-input");
    const auto config = pawtrait::schedulers::SchedulerConfig::from_json(json, "fuzz-input");
    // What was accepted must survive a round trip.
    pawtrait::schedulers::SchedulerConfig::from_json(config.to_json(), "round-trip");
  } catch (const pawtrait::Error&) {
  }
  return 0;
}
