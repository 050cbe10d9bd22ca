// libFuzzer target: any bytes as a scheduler_config.json (the Python-style JSON reader, then
// the config's type and value checks) either give a config or throw pawtrait::Error, read as
// the UNet families read it and as FLUX.2 [klein]'s flow-matching scheduler does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/json_file.h"
#include "schedulers/flow_match_config.h"
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
  try {
    pawtrait::schedulers::flow_shift_from_config(pawtrait::parse_python_json(text, "fuzz-input"), "fuzz-input");
  } catch (const pawtrait::Error&) {
  }
  return 0;
}
