#include "models/clip_tokenizer.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "common/error.h"
#include "common/json_file.h"
#include "models/byte_pair_encoding.h"
#include "models/clip_text_cleanup.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// transformers reads only the first 49152 - 256 - 2 merges of merges.txt (CLIP's vocabulary
// is 256 bytes x 2 (with and without </w>) + merges + 2 markers); later lines are ignored.
constexpr std::size_t kMaxMerges = 49152 - 256 - 2;
// Without model_max_length transformers would pad to an effectively unlimited length that no
// text encoder takes; every CLIP text encoder has 77 positions.
constexpr int kDefaultMaxLength = 77;
constexpr int kLargestMaxLength = 1 << 20;

// The special-token attributes in transformers' order (SPECIAL_TOKENS_ATTRIBUTES), which is
// the order they are registered in, and so which of several equal contents keeps its flags.
constexpr std::array<std::string_view, 7> kSpecialKeys = {"bos_token", "eos_token", "unk_token", "sep_token",
                                                          "pad_token", "cls_token", "mask_token"};

// A special or added token as the config files declare it. A plain string and an object
// differ in transformers: a string already registered keeps the registered token's flags.
struct TokenSpec {
  AddedToken token;
  bool is_object = false;
};

void require_file(const fs::path& file, const std::string& purpose) {
  if (!fs::exists(file)) {
    throw Error(file.string() + " is missing: a CLIP tokenizer folder needs vocab.json and merges.txt (" + purpose +
                "); copy the tokenizer/ folder of the base model");
  }
}

std::string read_text_file(const fs::path& file, const std::string& purpose) {
  require_file(file, purpose);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::unordered_map<std::string, std::int64_t> read_vocab(const fs::path& file) {
  require_file(file, "the token -> id table");
  const json vocab = read_json_file(file);
  if (!vocab.is_object() || vocab.empty()) {
    throw Error(file.string() + ": expected a JSON object mapping each token to its id");
  }
  std::unordered_map<std::string, std::int64_t> ids;
  ids.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<std::int64_t>() < 0) {
      throw Error(file.string() + ": the id of token \"" + it.key() + "\" is " + it.value().dump() +
                  ", expected a non-negative integer");
    }
    ids.emplace(it.key(), it.value().get<std::int64_t>());
  }
  return ids;
}

// merges.txt: a "#version" header, then one merge per line, "left right", most frequent
// first. The rank map makes each BPE step a hash lookup instead of a scan of the merges.
void parse_merges(const std::string& text, const std::string& file, BytePairMerges& merges) {
  std::size_t pos = 0;
  while (pos < text.size() && is_ascii_space(text[pos])) ++pos;  // transformers strips the file
  if (text.compare(pos, 3, "\xEF\xBB\xBF") == 0) pos += 3;       // a BOM some editors add
  std::size_t line_end = std::min(text.find('\n', pos), text.size());
  if (text.compare(pos, 8, "#version") != 0) {
    throw Error(file + ": the first line should be the \"#version: 0.2\" header, found \"" +
                text.substr(pos, std::min<std::size_t>(line_end - pos, 60)) +
                "\"; this is not a CLIP merges.txt (or the header was lost: transformers would drop the first merge)");
  }
  int line_number = 1;
  int rank = 0;
  while (line_end < text.size() && static_cast<std::size_t>(rank) < kMaxMerges) {
    pos = line_end + 1;
    line_end = std::min(text.find('\n', pos), text.size());
    ++line_number;
    std::vector<std::string> parts;
    std::string part;
    for (std::size_t i = pos; i < line_end; ++i) {
      if (!is_ascii_space(text[i])) {
        part += text[i];
      } else if (!part.empty()) {
        parts.push_back(std::move(part));
        part.clear();
      }
    }
    if (!part.empty()) parts.push_back(std::move(part));
    if (parts.empty()) {  // a blank line: the reference keeps it as a pair that never matches
      ++rank;
      continue;
    }
    if (parts.size() != 2) {
      throw Error(file + " line " + std::to_string(line_number) +
                  ": expected two symbols separated by a space, found \"" + text.substr(pos, line_end - pos) + "\"");
    }
    merges.add(parts[0], parts[1], rank++);
  }
  if (merges.size() == 0) throw Error(file + ": no merges after the header");
}

bool flag(const json& object, const char* key, const fs::path& file) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw Error(file.string() + ": \"" + key + "\" of a token should be true or false");
  return it->get<bool>();
}

// A token declaration: a plain string, or an object with "content" and flags (with or
// without the "__type": "AddedToken" marker older files carry). Null means not declared.
std::optional<TokenSpec> read_token(const json& value, const std::string& field, const fs::path& file) {
  if (value.is_null()) return std::nullopt;
  TokenSpec spec;
  if (value.is_string()) {
    spec.token.content = value.get<std::string>();
    return spec;
  }
  if (!value.is_object() || !value.contains("content") || !value.at("content").is_string()) {
    throw Error(file.string() + ": \"" + field + "\" should be a string or an object with a \"content\" string, not " +
                value.dump());
  }
  spec.is_object = true;
  spec.token.content = value.at("content").get<std::string>();
  spec.token.lstrip = flag(value, "lstrip", file);
  spec.token.rstrip = flag(value, "rstrip", file);
  spec.token.single_word = flag(value, "single_word", file);
  return spec;
}

std::int64_t read_id(const json& value, const std::string& field, const fs::path& file) {
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return value.get<std::int64_t>();
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (!text.empty() && text.size() < 16 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::stoll(text);
    }
  }
  throw Error(file.string() + ": the id of \"" + field + "\" should be a non-negative integer, not " + value.dump());
}

json read_optional_object(const fs::path& file) {
  if (!fs::exists(file)) return json::object();
  json value = read_json_file(file);
  if (!value.is_object()) throw Error(file.string() + ": expected a JSON object");
  return value;
}

// A Python dict {id: AddedToken}: assignment to an existing id keeps its place.
class TokenTable {
 public:
  void set(std::int64_t id, AddedToken token) {
    token.id = id;
    const auto [it, inserted] = index_.emplace(id, tokens_.size());
    if (inserted) {
      tokens_.push_back(std::move(token));
    } else {
      tokens_[it->second] = std::move(token);
    }
  }
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int64_t, std::size_t> index_;
};

// transformers' Trie of added-token contents, over code points.
class Trie {
 public:
  void add(std::u32string_view word) {
    if (word.empty()) return;
    int node = 0;
    for (const char32_t c : word) {
      const int next = child(node, c);
      if (next >= 0) {
        node = next;
      } else {
        nodes_[static_cast<std::size_t>(node)].children.emplace(c, static_cast<int>(nodes_.size()));
        node = static_cast<int>(nodes_.size());
        nodes_.emplace_back();
      }
    }
    nodes_[static_cast<std::size_t>(node)].end = true;
  }

  int child(int node, char32_t c) const {
    const auto& children = nodes_[static_cast<std::size_t>(node)].children;
    const auto it = children.find(c);
    return it == children.end() ? -1 : it->second;
  }
  bool end(int node) const { return nodes_[static_cast<std::size_t>(node)].end; }

  // Trie.split, ported statement by statement: it finds the earliest-starting match, extends
  // it to the longest one, and has quirks with overlapping tokens that a cleaner leftmost-
  // longest scan would not reproduce.
  std::vector<std::u32string> split(std::u32string_view text) const {
    struct Active {
      std::size_t start;
      int node;
    };
    std::vector<Active> states;
    std::vector<std::size_t> offsets{0};
    std::size_t skip = 0;
    const std::size_t n = text.size();
    for (std::size_t current = 0; current < n; ++current) {
      if (skip != 0 && current < skip) continue;
      const char32_t current_char = text[current];
      std::vector<bool> remove(states.size(), false);
      bool reset = false;
      for (std::size_t s = 0; s < states.size(); ++s) {
        std::size_t start = states[s].start;
        if (end(states[s].node)) {
          std::size_t match_end = 0;
          for (const Active& look : states) {
            if (look.start > start) break;
            std::size_t lookahead = look.start < start ? current + 1 : current;
            match_end = lookahead;
            int node = look.node;
            if (end(node)) {
              start = look.start;
              match_end = lookahead;
              skip = lookahead;
            }
            while (lookahead < n && child(node, text[lookahead]) >= 0) {
              node = child(node, text[lookahead]);
              ++lookahead;
              if (end(node)) {
                start = look.start;
                match_end = lookahead;
                skip = lookahead;
              }
            }
          }
          offsets.push_back(start);
          offsets.push_back(match_end);
          reset = true;
          break;
        }
        const int next = child(states[s].node, current_char);
        if (next >= 0) {
          states[s].node = next;
        } else {
          remove[s] = true;
        }
      }
      if (reset) {
        states.clear();
      } else {
        std::vector<Active> kept;
        for (std::size_t s = 0; s < states.size(); ++s) {
          if (!remove[s]) kept.push_back(states[s]);
        }
        states.swap(kept);
      }
      const int first = child(0, current_char);
      if (current >= skip && first >= 0) states.push_back({current, first});
    }
    for (const Active& state : states) {
      if (end(state.node)) {
        offsets.push_back(state.start);
        offsets.push_back(n);
        break;
      }
    }
    // Trie.cut_text
    offsets.push_back(n);
    std::vector<std::u32string> pieces;
    std::size_t start = 0;
    for (const std::size_t piece_end : offsets) {
      if (start >= piece_end) continue;
      pieces.emplace_back(text.substr(start, piece_end - start));
      start = piece_end;
    }
    return pieces;
  }

 private:
  struct Node {
    std::unordered_map<char32_t, int> children;
    bool end = false;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

std::u32string python_lstrip(std::u32string text) {
  std::size_t begin = 0;
  while (begin < text.size() && clip_text::is_python_space(text[begin])) ++begin;
  return text.substr(begin);
}

std::u32string python_rstrip(std::u32string text) {
  std::size_t end = text.size();
  while (end > 0 && clip_text::is_python_space(text[end - 1])) --end;
  text.resize(end);
  return text;
}

}  // namespace

struct ClipTokenizer::State {
  std::unordered_map<std::string, std::int64_t> vocab;
  BytePairMerges merges;
  std::vector<AddedToken> added;                               // registration order
  std::unordered_map<std::string, std::size_t> added_by_text;  // content -> index into added
  std::unordered_map<std::u32string, std::size_t> added_by_code_points;
  Trie trie;
  std::int64_t bos = 0, eos = 0, pad = 0, unk = -1;
  int max_length = kDefaultMaxLength;

  std::vector<std::string> bpe(const std::string& word) const;
  void tokenize_text(std::u32string_view text, TextCleanup cleanup, std::vector<std::string>& out) const;
  std::vector<std::string> tokenize(std::string_view text, TextCleanup cleanup) const;
  std::int64_t id(const std::string& token) const;
};

// CLIPTokenizer.bpe: byte-level BPE with "</w>" ending each word.
std::vector<std::string> ClipTokenizer::State::bpe(const std::string& word) const {
  if (word.empty()) return {};
  std::string encoded = byte_level_encode(word);
  // The reference seeds its cache with the two markers, so they are never split.
  if (encoded == "<|startoftext|>" || encoded == "<|endoftext|>") return {encoded};
  return merges.merge(encoded, "</w>");
}

// CLIPTokenizer._tokenize for one piece of the prompt between added tokens.
void ClipTokenizer::State::tokenize_text(std::u32string_view text, TextCleanup cleanup,
                                         std::vector<std::string>& out) const {
  for (const std::u32string& word : clip_text::split_words(clip_text::clean(text, cleanup))) {
    for (std::string& piece : bpe(clip_text::to_utf8(word))) out.push_back(std::move(piece));
  }
}

// PreTrainedTokenizer.tokenize: cut the added tokens out first (each keeps its content), let
// their lstrip/rstrip/single_word flags adjust the neighbouring pieces, then normalise and
// BPE each remaining piece on its own.
std::vector<std::string> ClipTokenizer::State::tokenize(std::string_view text, TextCleanup cleanup) const {
  std::vector<std::u32string> pieces = trie.split(clip_text::from_utf8(text));
  const auto added_token = [&](const std::u32string& piece) -> const AddedToken* {
    const auto it = added_by_code_points.find(piece);
    return it == added_by_code_points.end() ? nullptr : &added[it->second];
  };
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const AddedToken* token = added_token(pieces[i]);
    if (token == nullptr) continue;
    // The single_word tests look at the neighbours as they were before the stripping.
    const std::u32string left = i > 0 ? pieces[i - 1] : std::u32string();
    const std::u32string right = i + 1 < pieces.size() ? pieces[i + 1] : std::u32string();
    if (token->rstrip && !right.empty()) pieces[i + 1] = python_lstrip(right);
    if (token->lstrip && !left.empty()) pieces[i - 1] = python_rstrip(left);
    if (token->single_word && !left.empty() && left.back() != U' ') {
      pieces[i - 1] += pieces[i];
      pieces[i].clear();
    } else if (token->single_word && !right.empty() && right.front() != U' ') {
      pieces[i + 1] = pieces[i] + pieces[i + 1];
      pieces[i].clear();
    }
  }
  std::vector<std::string> tokens;
  for (const std::u32string& piece : pieces) {
    if (piece.empty()) continue;
    if (const AddedToken* token = added_token(piece)) {
      tokens.push_back(token->content);
    } else {
      tokenize_text(piece, cleanup, tokens);
    }
  }
  return tokens;
}

std::int64_t ClipTokenizer::State::id(const std::string& token) const {
  if (const auto it = added_by_text.find(token); it != added_by_text.end()) return added[it->second].id;
  if (const auto it = vocab.find(token); it != vocab.end()) return it->second;
  if (unk < 0) {
    throw Error("token \"" + token + "\" is not in the tokenizer's vocab.json, which also lacks the unk token");
  }
  return unk;
}

ClipTokenizer::ClipTokenizer(std::shared_ptr<State> state) : state_(std::move(state)) {}

ClipTokenizer ClipTokenizer::load(const fs::path& tokenizer_dir) {
  if (!fs::is_directory(tokenizer_dir)) {
    throw Error("tokenizer folder " + tokenizer_dir.string() +
                " does not exist; give the model's tokenizer/ folder (vocab.json, merges.txt, tokenizer_config.json)");
  }
  auto state = std::make_shared<State>();
  state->vocab = read_vocab(tokenizer_dir / "vocab.json");
  const fs::path merges_file = tokenizer_dir / "merges.txt";
  parse_merges(read_text_file(merges_file, "the BPE merge rules"), merges_file.string(), state->merges);
  const fs::path config_file = tokenizer_dir / "tokenizer_config.json";
  return with_special_tokens(std::move(state), tokenizer_dir, read_optional_object(config_file).dump(), config_file);
}

ClipTokenizer ClipTokenizer::from_merges(const std::string& merges_text, const std::string& tokenizer_config,
                                         const std::string& source) {
  auto state = std::make_shared<State>();
  parse_merges(merges_text, source, state->merges);
  // CLIP's vocabulary is derived from its merges: the 256 byte characters in
  // bytes_to_unicode's order (printable bytes first), the same with "</w>", every merge's
  // result in rank order, then the two markers.
  std::vector<std::string> by_id;
  for (const bool printable_pass : {true, false}) {
    for (int b = 0; b < 256; ++b) {
      if (byte_level_is_printable(b) == printable_pass) {
        by_id.push_back(byte_level_alphabet()[static_cast<std::size_t>(b)]);
      }
    }
  }
  for (std::size_t i = 0; i < 256; ++i) by_id.push_back(by_id[i] + "</w>");
  std::vector<std::pair<int, std::string>> merged;
  merged.reserve(state->merges.size());
  for (const auto& [pair, rank] : state->merges.ranks()) {
    std::string joined = pair;
    joined.erase(joined.find(' '), 1);
    merged.emplace_back(rank, std::move(joined));
  }
  std::sort(merged.begin(), merged.end());
  for (auto& [rank, text] : merged) by_id.push_back(std::move(text));
  by_id.emplace_back("<|startoftext|>");
  by_id.emplace_back("<|endoftext|>");
  for (std::size_t id = 0; id < by_id.size(); ++id) state->vocab[by_id[id]] = static_cast<std::int64_t>(id);
  return with_special_tokens(std::move(state), {}, tokenizer_config, source);
}

ClipTokenizer ClipTokenizer::with_special_tokens(std::shared_ptr<State> state, const fs::path& tokenizer_dir,
                                                 const std::string& config_text, const fs::path& config_file) {
  // Which tokens are special or added, resolved as PreTrainedTokenizerBase._from_pretrained
  // (transformers 4.36) does it.
  const json config = json::parse(config_text);
  std::map<std::string, std::optional<TokenSpec>, std::less<>> special;
  std::vector<TokenSpec> additional;
  TokenTable declared;
  std::unordered_map<std::string, TokenSpec> declared_by_content;
  const auto read_specials = [&](const json& source, const fs::path& file) {
    for (const std::string_view key : kSpecialKeys) {
      const auto it = source.find(std::string(key));
      if (it != source.end()) special[std::string(key)] = read_token(*it, std::string(key), file);
    }
    const auto list = source.find("additional_special_tokens");
    if (list == source.end() || list->is_null()) return;
    if (!list->is_array()) throw Error(file.string() + ": \"additional_special_tokens\" should be a list");
    for (const json& value : *list) {
      std::optional<TokenSpec> spec = read_token(value, "additional_special_tokens", file);
      const bool present = std::any_of(additional.begin(), additional.end(), [&](const TokenSpec& known) {
        return spec && known.token.content == spec->token.content;
      });
      if (spec && !present) additional.push_back(*spec);
    }
  };
  read_specials(config, config_file);
  if (const auto it = config.find("added_tokens_decoder"); it != config.end()) {
    // Files written by transformers >= 4.34: this table is complete, special_tokens_map.json
    // and added_tokens.json are not read.
    if (!it->is_object()) throw Error(config_file.string() + ": \"added_tokens_decoder\" should be an object");
    for (auto entry = it->begin(); entry != it->end(); ++entry) {
      const std::int64_t id = read_id(entry.key(), "added_tokens_decoder", config_file);
      if (!entry.value().is_object()) {
        throw Error(config_file.string() + ": added_tokens_decoder[\"" + entry.key() + "\"] should be an object");
      }
      std::optional<TokenSpec> spec = read_token(entry.value(), "added_tokens_decoder", config_file);
      declared.set(id, spec->token);
      declared_by_content[spec->token.content] = *spec;
    }
  } else if (!tokenizer_dir.empty()) {
    const fs::path map_file = tokenizer_dir / "special_tokens_map.json";
    read_specials(read_optional_object(map_file), map_file);  // overrides tokenizer_config.json
    const fs::path added_file = tokenizer_dir / "added_tokens.json";
    const json added = read_optional_object(added_file);
    for (auto entry = added.begin(); entry != added.end(); ++entry) {
      AddedToken token;
      token.content = entry.key();
      declared.set(read_id(entry.value(), entry.key(), added_file), token);
    }
    const fs::path fast_file = tokenizer_dir / "tokenizer.json";
    if (fs::exists(fast_file)) {
      const json fast = read_optional_object(fast_file);
      const auto list = fast.find("added_tokens");
      if (list != fast.end() && list->is_array()) {
        for (const json& value : *list) {
          std::optional<TokenSpec> spec = read_token(value, "added_tokens", fast_file);
          if (!value.contains("id")) throw Error(fast_file.string() + ": an entry of \"added_tokens\" has no id");
          declared.set(read_id(value.at("id"), "added_tokens", fast_file), spec->token);
          declared_by_content[spec->token.content] = *spec;
        }
      }
    }
  }
  // A special token named by content takes the declared token's flags.
  for (auto& [key, spec] : special) {
    if (!spec || declared_by_content.empty()) continue;
    const auto it = declared_by_content.find(spec->token.content);
    if (it != declared_by_content.end()) spec = it->second;
  }
  // CLIPTokenizer.__init__: its defaults, and BOS/EOS/UNK given as strings become tokens.
  const auto with_default = [&](const char* key, const char* content, bool as_object) {
    std::optional<TokenSpec>& spec = special[key];
    if (!spec) spec = TokenSpec{AddedToken{content}, false};
    if (as_object) spec->is_object = true;
  };
  with_default("bos_token", "<|startoftext|>", true);
  with_default("eos_token", "<|endoftext|>", true);
  with_default("unk_token", "<|endoftext|>", true);
  with_default("pad_token", "<|endoftext|>", false);

  // PreTrainedTokenizer.__init__: the declared tokens, then each special token (equal
  // contents once) registered at its vocab.json id, or appended after the vocabulary.
  TokenTable registered = declared;
  std::unordered_map<std::string, std::int64_t> registered_ids;
  for (const AddedToken& token : declared.tokens()) registered_ids[token.content] = token.id;
  std::vector<TokenSpec> specials;
  for (const std::string_view key : kSpecialKeys) {
    const auto it = special.find(key);
    if (it != special.end() && it->second) specials.push_back(*it->second);
  }
  specials.insert(specials.end(), additional.begin(), additional.end());
  std::vector<std::string> seen;
  std::int64_t next_id = static_cast<std::int64_t>(state->vocab.size());
  for (const auto& [content, id] : registered_ids) next_id += state->vocab.count(content) == 0 ? 1 : 0;
  for (const TokenSpec& spec : specials) {
    const std::string& content = spec.token.content;
    if (content.empty() || std::find(seen.begin(), seen.end(), content) != seen.end()) continue;
    seen.push_back(content);
    if (!spec.is_object && registered_ids.count(content) != 0) continue;
    std::int64_t id = 0;
    if (const auto it = registered_ids.find(content); it != registered_ids.end()) {
      id = it->second;
    } else if (const auto in_vocab = state->vocab.find(content); in_vocab != state->vocab.end()) {
      id = in_vocab->second;
    } else {
      id = next_id++;
    }
    registered.set(id, spec.token);
    registered_ids[content] = id;
  }
  for (const AddedToken& token : registered.tokens()) {
    state->trie.add(clip_text::from_utf8(token.content));
  }
  state->added = registered.tokens();
  for (std::size_t i = 0; i < state->added.size(); ++i) {
    const AddedToken& token = state->added[i];
    if (registered_ids.at(token.content) != token.id) continue;  // an earlier id of a re-registered content
    state->added_by_text[token.content] = i;
    state->added_by_code_points[clip_text::from_utf8(token.content)] = i;
  }

  const std::string& unk_content = special.at("unk_token")->token.content;
  if (const auto it = state->vocab.find(unk_content); it != state->vocab.end()) state->unk = it->second;
  state->bos = state->id(special.at("bos_token")->token.content);
  state->eos = state->id(special.at("eos_token")->token.content);
  state->pad = state->id(special.at("pad_token")->token.content);

  if (const auto it = config.find("model_max_length"); it != config.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 2 || it->get<std::int64_t>() > kLargestMaxLength) {
      throw Error(config_file.string() + ": model_max_length is " + it->dump() +
                  "; expected the text encoder's number of positions (77 for Stable Diffusion)");
    }
    state->max_length = it->get<int>();
  }
  return ClipTokenizer(std::move(state));
}

std::vector<std::string> ClipTokenizer::tokenize(std::string_view text, TextCleanup cleanup) const {
  return state_->tokenize(text, cleanup);
}

std::vector<std::int64_t> ClipTokenizer::encode(std::string_view text, TextCleanup cleanup) const {
  std::vector<std::int64_t> ids;
  for (const std::string& token : state_->tokenize(text, cleanup)) ids.push_back(state_->id(token));
  return ids;
}

std::vector<std::int64_t> ClipTokenizer::pad_to_max_length(std::vector<std::int64_t> ids) const {
  const auto length = static_cast<std::size_t>(state_->max_length);
  if (ids.size() > length - 2) ids.resize(length - 2);  // truncation keeps the start
  ids.insert(ids.begin(), state_->bos);
  ids.push_back(state_->eos);
  ids.resize(length, state_->pad);
  return ids;
}

std::vector<std::int64_t> ClipTokenizer::operator()(std::string_view prompt, TextCleanup cleanup) const {
  return pad_to_max_length(encode(prompt, cleanup));
}

std::string ClipTokenizer::truncation_warning(std::string_view prompt, TextCleanup cleanup) const {
  const std::vector<std::int64_t> all = encode(prompt, cleanup);
  const auto room = static_cast<std::size_t>(max_length() - 2);
  if (all.size() <= room) return "";
  const std::vector<std::string> pieces = tokenize(prompt, cleanup);
  std::string dropped;
  for (std::size_t i = room; i < pieces.size(); ++i) dropped += pieces[i];
  for (std::size_t at = dropped.find("</w>"); at != std::string::npos; at = dropped.find("</w>")) {
    dropped.replace(at, 4, " ");
  }
  return "the prompt is " + std::to_string(all.size()) + " tokens; the text encoder reads " + std::to_string(room) +
         ", so this end is ignored: \"" + dropped + "\"";
}

TokenBatch ClipTokenizer::encode_batch(const std::vector<std::string>& prompts, TextCleanup cleanup) const {
  TokenBatch batch;
  batch.batch = static_cast<std::int64_t>(prompts.size());
  batch.length = state_->max_length;
  batch.ids.reserve(prompts.size() * static_cast<std::size_t>(state_->max_length));
  for (const std::string& prompt : prompts) {
    const std::vector<std::int64_t> row = (*this)(prompt, cleanup);
    batch.ids.insert(batch.ids.end(), row.begin(), row.end());
  }
  return batch;
}

std::int64_t ClipTokenizer::token_to_id(std::string_view token) const { return state_->id(std::string(token)); }
std::int64_t ClipTokenizer::bos_id() const { return state_->bos; }
std::int64_t ClipTokenizer::eos_id() const { return state_->eos; }
std::int64_t ClipTokenizer::pad_id() const { return state_->pad; }
std::int64_t ClipTokenizer::unk_id() const { return state_->unk; }
int ClipTokenizer::max_length() const { return state_->max_length; }
std::int64_t ClipTokenizer::vocab_size() const { return static_cast<std::int64_t>(state_->vocab.size()); }
const std::vector<AddedToken>& ClipTokenizer::added_tokens() const { return state_->added; }

}  // namespace pawtrait::models
