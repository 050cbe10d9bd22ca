#pragma once

#include <map>
#include <string>

#include "pipeline/generate_request.h"

namespace pawtrait::pipeline {

// The "parameters" text Automatic1111 writes into its PNGs, which other SD tools read:
//   <prompt>
//   Negative prompt: <negative prompt>
//   Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 42, Size: 512x512, Model hash: 6ce0161689,
//   Model: sd15, Lora: pet:0.8, Lora hashes: "pet: 0a1b2c3d4e"
// with "VAE hash: <hash>, VAE: <name>" after the model when one replaced its own, and
// "Prompt cleanup: ftfy" last when the prompts were cleaned as transformers 4 with ftfy did.
// Hashes are written where the request knows them.
std::string a1111_parameters(const GenerateRequest& request);

// The request as a shared picture carries it: the model, its configs, the VAE and the LoRAs
// by name (models::shared_name; builtin:RUN_DIR as builtin:<run folder's name>), with the
// short hashes the request has, and no folder of the owner's.
GenerateRequest without_paths(const GenerateRequest& request);

// The PNG text chunks of one image: "parameters" (above) and "pawtrait" (the request as JSON
// without paths, enough to re-run it exactly once pipeline/model_search.h finds its models).
std::map<std::string, std::string> png_metadata(const GenerateRequest& request);

// The request stored in a Pawtrait PNG's "pawtrait" chunk, with its models as the picture
// names them (see locate_models). Throws pawtrait::Error naming the file when it has none
// (e.g. a picture from another tool) or it is unreadable.
GenerateRequest request_from_png(const std::string& file);

}  // namespace pawtrait::pipeline
