#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pawtrait::models {

// How CLIP's tokenizer normalises a prompt before BPE. The two differ on HTML entities
// ("Tom &amp; Jerry"), curly quotes, ligatures, full-width letters, control characters and
// a word-final capital sigma; on everything else they agree.
enum class TextCleanup {
  // transformers 5's CLIPTokenizer (the tokenizers library's pipeline), what current diffusers
  // loads: NFC, each run of \s one space, each code point lower-cased on its own.
  Nfc,
  // transformers 4's slow CLIPTokenizer with ftfy installed (older diffusers setups, OpenAI's
  // simple_tokenizer): ftfy's fix_text, whitespace_clean, Python's str.lower().
  Ftfy,
};

// "nfc" | "ftfy" (the request's and the CLI's names); nothing for another name.
std::optional<TextCleanup> text_cleanup_named(std::string_view name);

}  // namespace pawtrait::models

// The text side of CLIPTokenizer before BPE: the cleanup (TextCleanup) and CLIP's split regex.
// Everything works on code points (std::u32string) because the reference indexes Python str
// by code point: the added-token trie, ftfy's segment lengths and str.strip all count code
// points.
namespace pawtrait::models::clip_text {

// UTF-8 -> code points. An invalid sequence becomes U+FFFD per maximal subpart, as Python's
// bytes.decode("utf-8", errors="replace") does (UTF-8-encoded surrogates are invalid too).
std::u32string from_utf8(std::string_view utf8);
std::string to_utf8(std::u32string_view text);
std::string to_utf8(char32_t c);

// Unicode NFC (ICU), what the tokenizers library's NFC normalizer does.
std::u32string nfc(std::u32string_view text);

// str.isspace(): what Python's str.strip/lstrip/rstrip remove.
bool is_python_space(char32_t c);
// \s of the `regex` module (Unicode White_Space): what whitespace_clean folds and the split
// regex skips. It lacks U+001C..U+001F, which str.isspace() has.
bool is_regex_space(char32_t c);

// ftfy 6.1 fix_text with its default TextFixerConfig: HTML entities unescaped (unless the
// text, from the first line holding '<' on, looks like HTML), C1 controls read as
// Windows-1252, Latin ligatures split, full-width characters narrowed, curly quotes
// straightened, line breaks unified, terminal escapes and control characters removed, NFC;
// repeated per line until nothing changes. Not ported: fix_encoding, ftfy's mojibake
// heuristic (re-decoding text such as "cafÃ©"); such text passes through unchanged here.
std::u32string fix_text(std::u32string_view text);

// CLIP's whitespace_clean: every run of \s becomes one space, then str.strip().
std::u32string whitespace_clean(std::u32string_view text);

// Python's str.lower(): full case mapping, including the context-dependent final sigma.
std::u32string python_lower(std::u32string_view text);

// The tokenizers library's Lowercase: each code point's full lower-case mapping on its own
// (a word-final "Σ" stays "σ").
std::u32string lower_each(std::u32string_view text);

// The whole normalisation the tokenizer applies to one piece of a prompt: for Nfc,
// lower_each(fold of each \s run to one space(nfc(text))); for Ftfy (CLIPTokenizer._tokenize),
// python_lower(whitespace_clean(fix_text(text))).
std::u32string clean(std::u32string_view text, TextCleanup cleanup = TextCleanup::Nfc);

// re.findall of CLIP's pattern (regex module, IGNORECASE)
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// on cleaned text; returns the matches in order.
std::vector<std::u32string> split_words(std::u32string_view text);

}  // namespace pawtrait::models::clip_text
