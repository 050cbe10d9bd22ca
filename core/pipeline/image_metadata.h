#pragma once

#include <map>
#include <string>

#include "pipeline/generate_request.h"

namespace pawtrait::pipeline {

// The "parameters" text Automatic1111 writes into its PNGs, which other SD tools read:
//   <prompt>
//   Negative prompt: <negative prompt>
//   Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: sd15, Lora: pet:0.8
// with "VAE: <name>" after the model when one replaced its own, and "Prompt cleanup: ftfy"
// last when the prompts were cleaned as transformers 4 with ftfy did.
std::string a1111_parameters(const GenerateRequest& request);

// The PNG text chunks of one image: "parameters" (above) and "pawtrait" (the request as JSON,
// enough to re-run it exactly).
std::map<std::string, std::string> png_metadata(const GenerateRequest& request);

// The request stored in a Pawtrait PNG's "pawtrait" chunk. Throws pawtrait::Error naming the
// file when it has none (e.g. a picture from another tool) or it is unreadable.
GenerateRequest request_from_png(const std::string& file);

}  // namespace pawtrait::pipeline
