// libFuzzer target: any bytes as the request JSON a picture carries (what --from reads) or a
// run's config.json (what --resume reads) either give a request or throw pawtrait::Error;
// what is accepted survives a round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "common/json_file.h"
#include "pipeline/generate_request.h"
#include "training/train_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json json;
  try {
    json = pawtrait::parse_python_json(text, "fuzz-input");
  } catch (const pawtrait::Error&) {
    return 0;
  }
  try {
    using pawtrait::pipeline::GenerateRequest;
    const GenerateRequest request = GenerateRequest::from_json(json, "fuzz-input");
    if (GenerateRequest::from_json(request.to_json(), "round-trip").to_json() != request.to_json()) std::abort();
  } catch (const pawtrait::Error&) {
  }
  try {
    using pawtrait::training::TrainRequest;
    const TrainRequest request = TrainRequest::from_json(json, "fuzz-input");
    if (TrainRequest::from_json(request.to_json(), "round-trip").to_json() != request.to_json()) std::abort();
  } catch (const pawtrait::Error&) {
  }
  return 0;
}
