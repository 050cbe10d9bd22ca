#include "models/qwen2_pretokenizer.h"

#include <unicode/uchar.h>

#include <array>

#include "models/clip_text_cleanup.h"

namespace pawtrait::models {

const std::string_view kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }
bool is_space(char32_t c) { return clip_text::is_regex_space(c); }
bool is_newline(char32_t c) { return c == U'\r' || c == U'\n'; }
// [^\s\p{L}\p{N}]
bool is_other(char32_t c) { return !is_space(c) && !is_letter(c) && !is_number(c); }

bool folds_equal(char32_t c, char32_t literal) {
  return c == literal || u_foldCase(static_cast<UChar32>(c), U_FOLD_CASE_DEFAULT) ==
                             u_foldCase(static_cast<UChar32>(literal), U_FOLD_CASE_DEFAULT);
}

// The length of the match at `pos` (never 0 for a non-empty rest: some branch always matches).
std::size_t match_length(std::u32string_view text, std::size_t pos) {
  const std::size_t n = text.size();
  // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
  static constexpr std::array<std::u32string_view, 7> kContractions = {U"'s", U"'t",  U"'re", U"'ve",
                                                                       U"'m", U"'ll", U"'d"};
  for (const std::u32string_view literal : kContractions) {
    if (n - pos < literal.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < literal.size() && same; ++i) same = folds_equal(text[pos + i], literal[i]);
    if (same) return literal.size();
  }
  // 2. [^\r\n\p{L}\p{N}]?\p{L}+ (with the optional character, else without it)
  const auto letters_from = [&](std::size_t at) {
    std::size_t end = at;
    while (end < n && is_letter(text[end])) ++end;
    return end - at;
  };
  const char32_t c = text[pos];
  if (!is_newline(c) && !is_letter(c) && !is_number(c) && pos + 1 < n) {
    if (const std::size_t letters = letters_from(pos + 1); letters > 0) return 1 + letters;
  }
  if (const std::size_t letters = letters_from(pos); letters > 0) return letters;
  // 3. \p{N}
  if (is_number(c)) return 1;
  // 4. " ?[^\s\p{L}\p{N}]+[\r\n]*"
  const auto others_from = [&](std::size_t at) {
    std::size_t end = at;
    while (end < n && is_other(text[end])) ++end;
    if (end == at) return std::size_t{0};
    while (end < n && is_newline(text[end])) ++end;
    return end - at;
  };
  if (c == U' ' && pos + 1 < n) {
    if (const std::size_t length = others_from(pos + 1); length > 0) return 1 + length;
  }
  if (const std::size_t length = others_from(pos); length > 0) return length;
  // The rest start with whitespace: its maximal run is [pos, run_end).
  std::size_t run_end = pos;
  while (run_end < n && is_space(text[run_end])) ++run_end;
  // 5. \s*[\r\n]+: \s* backs off to the run's last line break, which [\r\n]+ then takes.
  for (std::size_t last = run_end; last > pos; --last) {
    if (is_newline(text[last - 1])) return last - pos;
  }
  // 6. \s+(?!\S): the whole run at the end of the text, else all of it but the last space.
  if (run_end == n && run_end > pos) return run_end - pos;
  if (run_end - pos >= 2) return run_end - pos - 1;
  // 7. \s+
  if (run_end > pos) return run_end - pos;
  return 1;  // unreachable: every character is a letter, number, space or other
}

}  // namespace

std::vector<std::u32string> qwen2_split(std::u32string_view text) {
  std::vector<std::u32string> pieces;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = match_length(text, pos);
    pieces.emplace_back(text.substr(pos, length));
    pos += length;
  }
  return pieces;
}

}  // namespace pawtrait::models
