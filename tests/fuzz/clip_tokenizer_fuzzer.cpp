// libFuzzer target: any bytes as a prompt (invalid UTF-8 included) go through the CLIP
// tokenizer of the tiny model's tokenizer/ folder: text cleanup, the split pattern, BPE. It
// must neither crash nor throw, and the results must hang together: tokenize and encode
// agree, the padded ids have the model's length with BOS first and EOS at the end of the
// prompt, and a second call (from the BPE cache) gives the same ids.
//
// The folder is PAWTRAIT_TOKENIZER_DIR from the environment, else the compile-time default.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "models/clip_text_cleanup.h"
#include "models/clip_tokenizer.h"

#ifndef PAWTRAIT_TOKENIZER_DIR
#define PAWTRAIT_TOKENIZER_DIR "../shared/testdata/sd-tiny/tokenizer"
#endif

namespace {

// Real prompts are a few hundred bytes; ftfy's repeat-until-stable rounds make nested
// entities ("&amp;amp;amp;...") quadratic in the reference too, so longer inputs only slow
// the search down.
constexpr std::size_t kMaxPromptBytes = 8192;

const pawtrait::models::ClipTokenizer& tokenizer() {
  static const pawtrait::models::ClipTokenizer loaded = [] {
    const char* dir = std::getenv("PAWTRAIT_TOKENIZER_DIR");
    return pawtrait::models::ClipTokenizer::load(dir != nullptr ? dir : PAWTRAIT_TOKENIZER_DIR);
  }();
  return loaded;
}

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace text = pawtrait::models::clip_text;
  const std::string_view prompt(reinterpret_cast<const char*>(data), std::min(size, kMaxPromptBytes));
  const auto& tok = tokenizer();

  const auto tokens = tok.tokenize(prompt);
  const auto ids = tok.encode(prompt);
  require(ids.size() == tokens.size());
  for (std::size_t i = 0; i < ids.size(); ++i) require(ids[i] == tok.token_to_id(tokens[i]));
  require(tok.encode(prompt) == ids);

  const auto padded = tok(prompt);
  const auto length = static_cast<std::size_t>(tok.max_length());
  require(padded.size() == length);
  require(padded.front() == tok.bos_id());
  const std::size_t kept = std::min(ids.size(), length - 2);
  require(padded[kept + 1] == tok.eos_id());
  for (std::size_t i = 0; i < kept; ++i) require(padded[i + 1] == ids[i]);
  for (std::size_t i = kept + 2; i < length; ++i) require(padded[i] == tok.pad_id());

  // The cleaned text is what the split pattern sees: one space between words (ftfy's cleanup
  // strips the ends too), and every split word non-empty; the ftfy cleanup tokenizes as well.
  const std::u32string cleaned = text::clean(text::from_utf8(prompt));
  require(cleaned.find(U"  ") == std::u32string::npos);
  for (const auto& word : text::split_words(cleaned)) require(!word.empty());
  const std::u32string ftfy = text::clean(text::from_utf8(prompt), pawtrait::models::TextCleanup::Ftfy);
  require(ftfy.empty() || (ftfy.front() != U' ' && ftfy.back() != U' '));
  require(ftfy.find(U"  ") == std::u32string::npos);
  for (const auto& word : text::split_words(ftfy)) require(!word.empty());
  const auto ftfy_tokens = tok.tokenize(prompt, pawtrait::models::TextCleanup::Ftfy);
  require(tok.encode(prompt, pawtrait::models::TextCleanup::Ftfy).size() == ftfy_tokens.size());
  return 0;
}
