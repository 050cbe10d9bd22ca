#include "models/tokenizer_json.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/error.h"
#include "common/json_file.h"
#include "models/byte_pair_encoding.h"
#include "models/clip_text_cleanup.h"
#include "models/qwen2_pretokenizer.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Longer than any text encoder reads; a bound against a malformed request, not a limit users meet.
constexpr int kLargestPaddedLength = 1 << 16;

// An added token and how it is matched.
struct Added {
  AddedToken token;
  std::u32string code_points;
  bool normalized = false;  // matched in the normalised text instead of the raw one
};

// Added-token contents over code points, matched leftmost-longest as the tokenizers
// library's AddedVocabulary does (aho-corasick, MatchKind::LeftmostLongest).
class TokenMatcher {
 public:
  void add(const std::u32string& word, std::size_t index) {
    if (word.empty()) return;
    int node = 0;
    for (const char32_t c : word) {
      const auto it = nodes_[static_cast<std::size_t>(node)].children.find(c);
      if (it != nodes_[static_cast<std::size_t>(node)].children.end()) {
        node = it->second;
      } else {
        const int created = static_cast<int>(nodes_.size());
        nodes_[static_cast<std::size_t>(node)].children.emplace(c, created);
        nodes_.emplace_back();
        node = created;
      }
    }
    nodes_[static_cast<std::size_t>(node)].token = static_cast<int>(index);
  }
  bool empty() const { return nodes_.size() == 1; }

  // The longest token starting at `pos`: (its length, its index), or nothing.
  std::optional<std::pair<std::size_t, std::size_t>> longest_at(std::u32string_view text, std::size_t pos) const {
    std::optional<std::pair<std::size_t, std::size_t>> best;
    int node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
      const auto& children = nodes_[static_cast<std::size_t>(node)].children;
      const auto it = children.find(text[i]);
      if (it == children.end()) break;
      node = it->second;
      const int token = nodes_[static_cast<std::size_t>(node)].token;
      if (token >= 0) best = std::make_pair(i + 1 - pos, static_cast<std::size_t>(token));
    }
    return best;
  }

 private:
  struct Node {
    std::unordered_map<char32_t, int> children;
    int token = -1;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

// A piece of the text: an added token's index, or text still to tokenise.
struct Piece {
  std::u32string text;
  int added = -1;
};

bool is_word_character(char32_t c) {
  return c == U'_' || (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_L_MASK | U_GC_N_MASK)) != 0;
}

std::string text_field(const json& object, const char* key, const std::string& where, const fs::path& file) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    throw Error(file.string() + ": " + where + " needs a string \"" + key + "\"");
  }
  return it->get<std::string>();
}

bool bool_field(const json& object, const char* key, bool fallback, const std::string& where, const fs::path& file) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(file.string() + ": " + where + "'s \"" + key + "\" should be true or false");
  return it->get<bool>();
}

std::string unsupported(const fs::path& file, const std::string& what) {
  return file.string() + ": " + what +
         "; Pawtrait reads the byte-level BPE tokenizers of Qwen2/Qwen3 (NFC, Qwen2's split regex, ByteLevel). "
         "Use the tokenizer/ folder that came with the model";
}

// A token of tokenizer_config.json: a string or an object with "content"; "" when absent.
std::string config_token(const json& config, const char* key, const fs::path& file) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && it->at("content").is_string()) {
    return it->at("content").get<std::string>();
  }
  throw Error(file.string() + ": \"" + key + "\" should be a string or an object with a \"content\" string");
}

}  // namespace

struct TokenizerJson::State {
  std::unordered_map<std::string, std::int64_t> vocab;
  BytePairMerges merges;
  std::string end_of_word_suffix;
  bool ignore_merges = false;
  bool nfc = false;
  std::vector<Added> added;
  std::vector<AddedToken> added_tokens;
  std::unordered_map<std::string, std::size_t> added_by_content;
  TokenMatcher raw_matcher, normalized_matcher;
  std::int64_t pad = -1, eos = -1;
  std::int64_t vocab_size = 0;
  ChatTemplate chat;

  // AddedVocabulary.split: cut `text` at the tokens of `matcher`, applying their strip flags.
  std::vector<Piece> split_added(std::u32string_view text, const TokenMatcher& matcher) const {
    std::vector<Piece> pieces;
    if (matcher.empty()) {
      pieces.push_back({std::u32string(text)});
      return pieces;
    }
    std::size_t emitted = 0;  // text before this is in `pieces`
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto found = matcher.longest_at(text, pos);
      if (!found) {
        ++pos;
        continue;
      }
      const auto [length, index] = *found;
      const Added& token = added[index];
      std::size_t start = pos, stop = pos + length;
      if (token.token.single_word) {
        const bool starts_word = start == 0 || !is_word_character(text[start - 1]);
        const bool ends_word = stop == text.size() || !is_word_character(text[stop]);
        if (!starts_word || !ends_word) {
          ++pos;
          continue;
        }
      }
      if (token.token.lstrip) {
        while (start > emitted && clip_text::is_regex_space(text[start - 1])) --start;
      }
      if (token.token.rstrip) {
        while (stop < text.size() && clip_text::is_regex_space(text[stop])) ++stop;
      }
      if (start > emitted) pieces.push_back({std::u32string(text.substr(emitted, start - emitted))});
      pieces.push_back({std::u32string(), static_cast<int>(index)});
      emitted = pos = stop;
    }
    if (emitted < text.size()) pieces.push_back({std::u32string(text.substr(emitted))});
    return pieces;
  }

  void tokenize_text(const std::u32string& text, std::vector<std::string>& out) const {
    for (const std::u32string& word : qwen2_split(text)) {
      const std::string encoded = byte_level_encode(clip_text::to_utf8(word));
      if (ignore_merges && vocab.count(encoded) != 0) {
        out.push_back(encoded);
        continue;
      }
      for (std::string& piece : merges.merge(encoded, end_of_word_suffix)) out.push_back(std::move(piece));
    }
  }

  std::vector<std::string> tokenize(std::string_view text) const {
    std::vector<std::string> tokens;
    for (const Piece& raw : split_added(clip_text::from_utf8(text), raw_matcher)) {
      if (raw.added >= 0) {
        tokens.push_back(added[static_cast<std::size_t>(raw.added)].token.content);
        continue;
      }
      const std::u32string normalized = nfc ? clip_text::nfc(raw.text) : raw.text;
      for (const Piece& piece : split_added(normalized, normalized_matcher)) {
        if (piece.added >= 0) {
          tokens.push_back(added[static_cast<std::size_t>(piece.added)].token.content);
        } else {
          tokenize_text(piece.text, tokens);
        }
      }
    }
    return tokens;
  }

  std::int64_t id(const std::string& token) const {
    if (const auto it = added_by_content.find(token); it != added_by_content.end()) return added[it->second].token.id;
    if (const auto it = vocab.find(token); it != vocab.end()) return it->second;
    throw Error("token \"" + token + "\" is not in the tokenizer's vocabulary");
  }
};

TokenizerJson::TokenizerJson(std::shared_ptr<const State> state) : state_(std::move(state)) {}

TokenizerJson TokenizerJson::load(const fs::path& tokenizer_dir) {
  const fs::path file = tokenizer_dir / "tokenizer.json";
  if (!fs::exists(file)) {
    throw Error(file.string() + " is missing: the model's tokenizer/ folder should hold tokenizer.json " +
                "(re-download the model, or copy the folder from the base model)");
  }
  const json root = read_json_file(file);
  if (!root.is_object()) throw Error(file.string() + ": expected a JSON object");
  auto state = std::make_shared<State>();

  // The model: BPE with its vocabulary and merges.
  const auto model = root.find("model");
  if (model == root.end() || !model->is_object()) throw Error(file.string() + ": no \"model\" object");
  if (text_field(*model, "type", "\"model\"", file) != "BPE") {
    throw Error(unsupported(file, "the model type is \"" + model->at("type").get<std::string>() + "\", not BPE"));
  }
  if (model->contains("dropout") && !model->at("dropout").is_null()) {
    throw Error(unsupported(file, "BPE dropout is set (it makes tokenisation random)"));
  }
  if (model->contains("continuing_subword_prefix") && model->at("continuing_subword_prefix").is_string() &&
      !model->at("continuing_subword_prefix").get<std::string>().empty()) {
    throw Error(unsupported(file, "the BPE has a continuing_subword_prefix"));
  }
  if (bool_field(*model, "byte_fallback", false, "\"model\"", file)) {
    throw Error(unsupported(file, "the BPE uses byte_fallback (SentencePiece style)"));
  }
  if (const auto suffix = model->find("end_of_word_suffix"); suffix != model->end() && suffix->is_string()) {
    state->end_of_word_suffix = suffix->get<std::string>();
  }
  state->ignore_merges = bool_field(*model, "ignore_merges", false, "\"model\"", file);
  const auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object() || vocab->empty()) {
    throw Error(file.string() + ": model.vocab should be an object mapping each token to its id");
  }
  std::int64_t largest_id = -1;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<std::int64_t>() < 0) {
      throw Error(file.string() + ": the id of token \"" + it.key() + "\" is " + it.value().dump() +
                  ", expected a non-negative integer");
    }
    state->vocab.emplace(it.key(), it.value().get<std::int64_t>());
    largest_id = std::max(largest_id, it.value().get<std::int64_t>());
  }
  const auto merges = model->find("merges");
  if (merges == model->end() || !merges->is_array()) throw Error(file.string() + ": model.merges should be a list");
  int rank = 0;
  for (const json& merge : *merges) {
    std::string left, right;
    if (merge.is_string()) {  // the older "left right" form
      const std::string text = merge.get<std::string>();
      const std::size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        throw Error(file.string() + ": merge " + std::to_string(rank) + " is \"" + text +
                    "\", expected two symbols separated by one space");
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      throw Error(file.string() + ": merge " + std::to_string(rank) + " is " + merge.dump() +
                  ", expected [\"left\", \"right\"]");
    }
    if (state->vocab.count(left + right) == 0) {
      throw Error(file.string() + ": merge " + std::to_string(rank) + " makes \"" + left + right +
                  "\", which is not in model.vocab");
    }
    state->merges.add(left, right, rank++);
  }

  // The normalizer: none or NFC.
  const auto accept_normalizer = [&](const json& normalizer) {
    const std::string type = text_field(normalizer, "type", "the normalizer", file);
    if (type != "NFC") throw Error(unsupported(file, "the normalizer is \"" + type + "\""));
    state->nfc = true;
  };
  if (const auto normalizer = root.find("normalizer"); normalizer != root.end() && !normalizer->is_null()) {
    if (!normalizer->is_object()) throw Error(file.string() + ": \"normalizer\" should be an object or null");
    if (normalizer->value("type", "") == "Sequence") {
      for (const json& step : normalizer->value("normalizers", json::array())) accept_normalizer(step);
    } else {
      accept_normalizer(*normalizer);
    }
  }

  // The pre-tokenizer: Split(Qwen2's regex, Isolated) then ByteLevel without its own regex.
  const auto pre = root.find("pre_tokenizer");
  if (pre == root.end() || !pre->is_object() || pre->value("type", "") != "Sequence" ||
      !pre->contains("pretokenizers") || !pre->at("pretokenizers").is_array() || pre->at("pretokenizers").size() != 2) {
    throw Error(unsupported(file, "the pre_tokenizer is not a Sequence of Split and ByteLevel"));
  }
  const json& split = pre->at("pretokenizers")[0];
  const json& byte_level = pre->at("pretokenizers")[1];
  if (!split.is_object() || split.value("type", "") != "Split") {
    throw Error(unsupported(file, "the first pre-tokenizer is not Split"));
  }
  const json pattern = split.value("pattern", json::object());
  if (!pattern.is_object() || !pattern.contains("Regex") || !pattern.at("Regex").is_string() ||
      pattern.at("Regex").get<std::string>() != kQwen2SplitPattern) {
    throw Error(unsupported(file, "the Split pattern is " + pattern.dump() + ", not Qwen2's"));
  }
  if (split.value("behavior", "") != "Isolated" || bool_field(split, "invert", false, "Split", file)) {
    throw Error(unsupported(file, "the Split behaviour is not Isolated"));
  }
  if (!byte_level.is_object() || byte_level.value("type", "") != "ByteLevel" ||
      bool_field(byte_level, "add_prefix_space", false, "ByteLevel", file) ||
      bool_field(byte_level, "use_regex", true, "ByteLevel", file)) {
    throw Error(unsupported(file, "the second pre-tokenizer is not ByteLevel without prefix space and regex"));
  }
  if (const auto post = root.find("post_processor"); post != root.end() && !post->is_null()) {
    if (!post->is_object() || post->value("type", "") != "ByteLevel") {
      throw Error(unsupported(file, "the post_processor adds tokens (" + post->value("type", std::string("?")) + ")"));
    }
  }

  // The added tokens.
  const auto added = root.find("added_tokens");
  if (added != root.end() && !added->is_null()) {
    if (!added->is_array()) throw Error(file.string() + ": \"added_tokens\" should be a list");
    for (const json& entry : *added) {
      if (!entry.is_object() || !entry.contains("id") || !entry.at("id").is_number_integer() ||
          entry.at("id").get<std::int64_t>() < 0) {
        throw Error(file.string() +
                    ": an entry of \"added_tokens\" has no non-negative integer id: " + entry.dump().substr(0, 200));
      }
      Added token;
      token.token.content = text_field(entry, "content", "an added token", file);
      if (token.token.content.empty()) throw Error(file.string() + ": an added token has an empty content");
      token.token.id = entry.at("id").get<std::int64_t>();
      token.token.lstrip = bool_field(entry, "lstrip", false, "an added token", file);
      token.token.rstrip = bool_field(entry, "rstrip", false, "an added token", file);
      token.token.single_word = bool_field(entry, "single_word", false, "an added token", file);
      token.normalized = bool_field(entry, "normalized", false, "an added token", file);
      token.code_points = clip_text::from_utf8(token.token.content);
      const std::size_t index = state->added.size();
      (token.normalized ? state->normalized_matcher : state->raw_matcher).add(token.code_points, index);
      state->added_by_content[token.token.content] = index;
      largest_id = std::max(largest_id, token.token.id);
      state->added_tokens.push_back(token.token);
      state->added.push_back(std::move(token));
    }
  }
  state->vocab_size = largest_id + 1;

  // tokenizer_config.json: the pad and end tokens, and the chat template.
  const fs::path config_file = tokenizer_dir / "tokenizer_config.json";
  if (!fs::exists(config_file)) {
    throw Error(config_file.string() +
                " is missing: it names the pad token and holds the chat template; "
                "re-download the model's tokenizer/ folder");
  }
  const json config = read_json_file(config_file);
  if (!config.is_object()) throw Error(config_file.string() + ": expected a JSON object");
  std::string pad = config_token(config, "pad_token", config_file);
  if (pad.empty()) pad = "<|endoftext|>";  // Qwen2Tokenizer's default
  const std::string eos = config_token(config, "eos_token", config_file);
  const auto known = [&](const std::string& token, const char* key) {
    if (state->added_by_content.count(token) == 0 && state->vocab.count(token) == 0) {
      throw Error(config_file.string() + ": the " + key + " \"" + token + "\" is not a token of tokenizer.json");
    }
    return state->id(token);
  };
  state->pad = known(pad, "pad_token");
  if (!eos.empty()) state->eos = known(eos, "eos_token");
  const auto chat = config.find("chat_template");
  if (chat == config.end() || !chat->is_string()) {
    throw Error(config_file.string() +
                ": no \"chat_template\" string; the text encoder expects prompts in the "
                "model's chat format. Re-download the model's tokenizer/ folder");
  }
  state->chat = ChatTemplate::parse(chat->get<std::string>(), config_file.string());
  return TokenizerJson(std::move(state));
}

std::vector<std::string> TokenizerJson::tokenize(std::string_view text) const { return state_->tokenize(text); }

std::vector<std::int64_t> TokenizerJson::encode(std::string_view text) const {
  std::vector<std::int64_t> ids;
  for (const std::string& token : state_->tokenize(text)) ids.push_back(state_->id(token));
  return ids;
}

PaddedIds TokenizerJson::encode_padded(std::string_view text, int length) const {
  if (length < 1 || length > kLargestPaddedLength) {
    throw Error("a padded length of " + std::to_string(length) + " tokens is outside 1.." +
                std::to_string(kLargestPaddedLength));
  }
  PaddedIds out;
  out.ids = encode(text);
  out.real_tokens = static_cast<std::int64_t>(out.ids.size());
  const auto n = static_cast<std::size_t>(length);
  const std::size_t kept = std::min(out.ids.size(), n);
  out.ids.resize(n, state_->pad);
  out.attention_mask.assign(n, 0);
  std::fill(out.attention_mask.begin(), out.attention_mask.begin() + static_cast<std::ptrdiff_t>(kept), 1);
  return out;
}

std::int64_t TokenizerJson::token_to_id(std::string_view token) const { return state_->id(std::string(token)); }
std::int64_t TokenizerJson::pad_id() const { return state_->pad; }
std::int64_t TokenizerJson::eos_id() const { return state_->eos; }
std::int64_t TokenizerJson::vocab_size() const { return state_->vocab_size; }
const std::vector<AddedToken>& TokenizerJson::added_tokens() const { return state_->added_tokens; }
const ChatTemplate& TokenizerJson::chat_template() const { return state_->chat; }

}  // namespace pawtrait::models
