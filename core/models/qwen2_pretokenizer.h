#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pawtrait::models {

// The split regex of Qwen2's and Qwen3's tokenizers (tokenizer.json's Split pre-tokenizer),
// verbatim:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
extern const std::string_view kQwen2SplitPattern;

// The pieces that pattern cuts a text into (Split with behavior "Isolated"), as the
// tokenizers library's Oniguruma matches it: alternatives tried in order at each position,
// each with backtracking; \s is Unicode White_Space, \p{L} and \p{N} general categories, and
// the contractions compare by simple case folding (so "'ſ" is a contraction too). Every code
// point lands in exactly one piece.
std::vector<std::u32string> qwen2_split(std::u32string_view text);

}  // namespace pawtrait::models
