// libFuzzer target: any bytes as the hub's file list (GET /api/models/{repo}/revision/{rev})
// either give a listing or throw pawtrait::Error; whatever is chosen for download is a safe
// relative path inside the model folder, whichever variant is asked for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "hub/hub_files.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto listing = pawtrait::hub::parse_repo_listing(text, "fuzz/repo");
    for (const char* variant : {"", "fp16"}) {
      for (const auto& file : pawtrait::hub::select_model_files(listing, variant)) {
        if (!pawtrait::hub::is_safe_relative_path(file.path)) std::abort();
        if (file.sha256 && !pawtrait::hub::is_hex_digest(*file.sha256, 64)) std::abort();
        if (file.blob_id && !pawtrait::hub::is_hex_digest(*file.blob_id, 40)) std::abort();
      }
    }
  } catch (const pawtrait::Error&) {
  }
  return 0;
}
