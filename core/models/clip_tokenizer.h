#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/clip_text_cleanup.h"

namespace pawtrait::models {

// A token that the tokenizer files declare outside BPE (transformers' AddedToken): it is cut
// out of the prompt before any normalisation and maps straight to its id. SD 1.x declares
// <|startoftext|> and <|endoftext|>; SD 2.x also its pad token "!".
struct AddedToken {
  std::string content;
  std::int64_t id = 0;
  bool lstrip = false;  // eats the whitespace before it
  bool rstrip = false;  // eats the whitespace after it
  bool single_word = false;
};

// The ids of several prompts, each padded to max_length, row-major (batch, length): ready to
// wrap in a tensor.
struct TokenBatch {
  std::int64_t batch = 0;
  std::int64_t length = 0;
  std::vector<std::int64_t> ids;
};

// CLIP's byte-level BPE tokenizer, as transformers' CLIPTokenizer tokenizes a Stable Diffusion
// prompt: by default as transformers 5 does (what current diffusers loads), or with
// TextCleanup::Ftfy as transformers 4.36's slow tokenizer with ftfy installed did; ids match
// the reference exactly, with one gap noted in clip_text_cleanup.h (ftfy's mojibake repair,
// Ftfy only). Loading reads a diffusers
// tokenizer/ folder. Immutable after load; copies share the vocabulary and a thread-safe BPE
// cache, so one tokenizer may serve several threads.
class ClipTokenizer {
 public:
  // Reads vocab.json and merges.txt, plus tokenizer_config.json, special_tokens_map.json,
  // added_tokens.json and tokenizer.json where present (only for the special and added
  // tokens). Throws pawtrait::Error naming the file for anything missing or malformed.
  static ClipTokenizer load(const std::filesystem::path& tokenizer_dir);
  // A tokenizer from CLIP's merge list alone (merges.txt's format, only the first 48,894
  // merges read), its vocabulary derived as CLIP derives it, and a tokenizer_config.json text
  // naming the special and added tokens (an "added_tokens_decoder" table). `source` names
  // it in errors.
  static ClipTokenizer from_merges(const std::string& merges_text, const std::string& tokenizer_config,
                                   const std::string& source);

  // The token strings of a prompt: BPE pieces ("photo</w>", byte-level characters such as
  // "Ã©") and added tokens, without BOS/EOS (transformers' tokenize()).
  std::vector<std::string> tokenize(std::string_view text, TextCleanup cleanup = TextCleanup::Nfc) const;
  // Their ids, without BOS/EOS and untruncated.
  std::vector<std::int64_t> encode(std::string_view text, TextCleanup cleanup = TextCleanup::Nfc) const;
  // What StableDiffusionPipeline feeds the text encoder: BOS, the ids truncated to
  // max_length - 2, EOS, then pad_id up to max_length.
  std::vector<std::int64_t> operator()(std::string_view prompt, TextCleanup cleanup = TextCleanup::Nfc) const;
  // The same for several prompts at once.
  TokenBatch encode_batch(const std::vector<std::string>& prompts, TextCleanup cleanup = TextCleanup::Nfc) const;
  // What truncation drops of a prompt longer than the text encoder reads: a warning to show
  // ("the prompt is 90 tokens; the text encoder reads 75, so this end is ignored: ..."), or
  // "" when it fits.
  std::string truncation_warning(std::string_view prompt, TextCleanup cleanup = TextCleanup::Nfc) const;

  // A token string's id: added tokens first, then vocab.json, then unk_id. Throws
  // pawtrait::Error when the token is unknown and vocab.json lacks the unk token.
  std::int64_t token_to_id(std::string_view token) const;

  std::int64_t bos_id() const;
  std::int64_t eos_id() const;
  std::int64_t pad_id() const;
  std::int64_t unk_id() const;      // -1 when vocab.json lacks the unk token
  int max_length() const;           // tokenizer_config.json's model_max_length (77 for every SD)
  std::int64_t vocab_size() const;  // entries of vocab.json
  // The added and special tokens after load's resolution of the config files: declared ones
  // first (a JSON object's entries in key order), then the special tokens.
  const std::vector<AddedToken>& added_tokens() const;

 private:
  struct State;
  explicit ClipTokenizer(std::shared_ptr<State> state);
  // Resolves the special and added tokens of `config_text` (a tokenizer_config.json) and the
  // older files beside it in `tokenizer_dir` where it has no added_tokens_decoder.
  static ClipTokenizer with_special_tokens(std::shared_ptr<State> state, const std::filesystem::path& tokenizer_dir,
                                           const std::string& config_text, const std::filesystem::path& config_file);

  std::vector<std::int64_t> pad_to_max_length(std::vector<std::int64_t> ids) const;

  std::shared_ptr<State> state_;
};

}  // namespace pawtrait::models
