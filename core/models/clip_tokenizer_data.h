#pragma once

#include <string>

#include "models/clip_tokenizer.h"

namespace pawtrait::models {

// CLIP's tokenizer built into Pawtrait, for single-file checkpoints, which carry none: the
// merge list OpenAI published with CLIP (bpe_simple_vocab_16e6.txt.gz, the copy PyPI's
// open_clip_torch ships, fetched by scripts/setup and compiled in), with the special tokens
// of the hub's tokenizer folders. `pad_token` is "<|endoftext|>" for SD 1.x and SDXL's first
// tokenizer, "!" (id 0, then also cut out of prompts as an added token) for SD 2.x and SDXL's
// second, as their tokenizer_config.json files say. Throws pawtrait::Error for another pad.
ClipTokenizer packaged_clip_tokenizer(const std::string& pad_token = "<|endoftext|>");

}  // namespace pawtrait::models
