#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/qwen3_text.h"
#include "models/tokenizer_json.h"

namespace pawtrait::families {

// Flux2KleinPipeline's text_encoder_out_layers default: the hidden states of Qwen3-4B's layers
// 9, 18 and 27 of 36. A call argument there, stored in no config file. (The diffusers
// DreamBooth script's default [10, 20, 30] is a known mistake: a LoRA trained with it sees
// other text features than it is used with.)
inline const std::vector<std::int64_t> kTextEncoderLayers = {9, 18, 27};
// The pipeline's max_sequence_length: every prompt is cut or padded to this many tokens.
constexpr int kMaxSequenceLength = 512;

// The klein prompt embeddings, as Flux2KleinPipeline.encode_prompt makes them: each prompt
// through the tokenizer's chat template (one user message, no thinking), padded on the right
// to `max_length` with the attention mask, through the Qwen3 decoder; the hidden states of
// `layers` concatenated per token ([h9 | h18 | h27]). (B, max_length, layers·hidden), in the
// encoder's dtype, on its device. Pad rows are kept: the transformer sees all of them.
at::Tensor encode_prompts(models::Qwen3TextModel& encoder, const models::TokenizerJson& tokenizer,
                          const std::vector<std::string>& prompts,
                          const std::vector<std::int64_t>& layers = kTextEncoderLayers,
                          int max_length = kMaxSequenceLength);

// One prompt's embedding (1, padded length, layers·hidden) from its tokens as
// tokenizer.encode_padded gives them for the chat template's text: encode_prompts' row.
at::Tensor encode_padded_prompt(models::Qwen3TextModel& encoder, const models::PaddedIds& padded,
                                const std::vector<std::int64_t>& layers);

// The text tokens' position ids (_prepare_text_ids): (1, n, 4) int64 rows (0, 0, 0, l).
at::Tensor text_position_ids(std::int64_t n);

}  // namespace pawtrait::families
