// libFuzzer target: any bytes as a prompt (invalid UTF-8 included) go through the
// tokenizer.json tokenizer of the klein test model: the added-token cut, NFC, Qwen2's split
// regex, byte-level BPE, the chat template and the padding. It must neither crash nor throw,
// and the results must hang together: the split pieces cover the text exactly, tokenize and
// encode agree, every token's bytes are the prompt's bytes, and the padded ids have the
// requested length with the mask counting the kept tokens.
//
// The folder is PAWTRAIT_TOKENIZER_DIR from the environment, else the compile-time default.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "models/byte_pair_encoding.h"
#include "models/clip_text_cleanup.h"
#include "models/qwen2_pretokenizer.h"
#include "models/tokenizer_json.h"

#ifndef PAWTRAIT_TOKENIZER_DIR
#define PAWTRAIT_TOKENIZER_DIR "../shared/testdata/klein/klein-tiny/tokenizer"
#endif

namespace {

constexpr std::size_t kMaxPromptBytes = 8192;
constexpr int kPaddedLength = 64;

const pawtrait::models::TokenizerJson& tokenizer() {
  static const pawtrait::models::TokenizerJson loaded = [] {
    const char* dir = std::getenv("PAWTRAIT_TOKENIZER_DIR");
    return pawtrait::models::TokenizerJson::load(dir != nullptr ? dir : PAWTRAIT_TOKENIZER_DIR);
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

  const std::u32string code_points = text::from_utf8(prompt);
  std::u32string joined;
  for (const auto& piece : pawtrait::models::qwen2_split(code_points)) {
    require(!piece.empty());
    joined += piece;
  }
  require(joined == code_points);

  const auto tokens = tok.tokenize(prompt);
  const auto ids = tok.encode(prompt);
  require(ids.size() == tokens.size());
  for (std::size_t i = 0; i < ids.size(); ++i) require(ids[i] == tok.token_to_id(tokens[i]));

  // Without added tokens or NFC changes the tokens spell the prompt, byte by byte.
  if (prompt.find('<') == std::string_view::npos && text::nfc(code_points) == code_points) {
    std::string spelled;
    for (const auto& token : tokens) spelled += token;
    require(spelled == pawtrait::models::byte_level_encode(text::to_utf8(code_points)));
  }

  const auto padded = tok.encode_padded(tok.chat_template().user_prompt(prompt), kPaddedLength);
  require(padded.ids.size() == static_cast<std::size_t>(kPaddedLength));
  require(padded.attention_mask.size() == padded.ids.size());
  const auto kept = std::min<std::int64_t>(padded.real_tokens, kPaddedLength);
  for (std::int64_t i = 0; i < kPaddedLength; ++i) {
    require(padded.attention_mask[static_cast<std::size_t>(i)] == (i < kept ? 1 : 0));
    if (i >= kept) require(padded.ids[static_cast<std::size_t>(i)] == tok.pad_id());
  }
  return 0;
}
