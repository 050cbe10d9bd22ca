#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat_template.h"
#include "models/clip_tokenizer.h"

namespace pawtrait::models {

// A prompt's ids cut or padded on the right to a fixed length, with the attention mask (1 for
// a real token, 0 for padding): what tokenizer(text, padding="max_length", truncation=True,
// max_length=n) returns.
struct PaddedIds {
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> attention_mask;
  std::int64_t real_tokens = 0;  // before truncation
};

// A byte-level BPE tokenizer read from a Hugging Face tokenizer.json (the tokenizers library's
// format), as Qwen2 and Qwen3 ship it: the added tokens cut out of the raw text first (leftmost
// longest match, with their lstrip/rstrip/single_word flags), the NFC normalizer, the Split
// pre-tokenizer with Qwen2's regex then ByteLevel, and BPE with the file's vocabulary and
// merges (the same merge code as ClipTokenizer). Components Pawtrait does not implement are
// refused by name when loading. tokenizer_config.json beside it supplies the pad and end
// tokens and the chat template. Immutable after load; copies share their state.
class TokenizerJson {
 public:
  // Reads tokenizer_dir/tokenizer.json and tokenizer_config.json. Throws pawtrait::Error
  // naming the file and field for anything missing, malformed or unsupported.
  static TokenizerJson load(const std::filesystem::path& tokenizer_dir);

  // The token strings ("Ġphoto", added tokens as their content), without special tokens added.
  std::vector<std::string> tokenize(std::string_view text) const;
  std::vector<std::int64_t> encode(std::string_view text) const;
  // encode, then truncated and padded on the right with pad_id() to `length`.
  PaddedIds encode_padded(std::string_view text, int length) const;

  // An added token's or vocabulary entry's id; throws pawtrait::Error for an unknown token.
  std::int64_t token_to_id(std::string_view token) const;
  std::int64_t pad_id() const;
  std::int64_t eos_id() const;
  std::int64_t vocab_size() const;  // the model's vocabulary plus added tokens outside it
  const std::vector<AddedToken>& added_tokens() const;
  const ChatTemplate& chat_template() const;

 private:
  struct State;
  explicit TokenizerJson(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

}  // namespace pawtrait::models
