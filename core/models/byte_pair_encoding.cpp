#include "models/byte_pair_encoding.h"

#include <functional>
#include <queue>
#include <tuple>

namespace pawtrait::models {
namespace {

// A memo, not a vocabulary: cleared when it grows past this many distinct words.
constexpr std::size_t kMaxCachedWords = 1 << 16;

std::string utf8_of(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else {  // the alphabet stays below U+0800
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
  return out;
}

std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

}  // namespace

bool byte_level_is_printable(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

const std::array<std::string, 256>& byte_level_alphabet() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> built;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      built[static_cast<std::size_t>(b)] = utf8_of(byte_level_is_printable(b) ? static_cast<char32_t>(b) : next++);
    }
    return built;
  }();
  return table;
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& alphabet = byte_level_alphabet();
  std::string encoded;
  encoded.reserve(bytes.size() * 2);
  for (const char c : bytes) encoded += alphabet[static_cast<unsigned char>(c)];
  return encoded;
}

void BytePairMerges::add(const std::string& left, const std::string& right, int rank) {
  ranks_[left + ' ' + right] = rank;
}

std::optional<int> BytePairMerges::rank(const std::string& left, const std::string& right) const {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left).append(1, ' ').append(right);
  const auto it = ranks_.find(key);
  if (it == ranks_.end()) return std::nullopt;
  return it->second;
}

// Done with a heap of candidate pairs instead of rescanning the word per merge, which keeps
// long words (a pasted run of letters) from going quadratic. To stay identical to the
// reference even for merge files whose ranks are out of training order, a round merges only
// the current lowest rank; the pairs it creates join the heap after the round.
std::vector<std::string> BytePairMerges::merge(const std::string& encoded_word,
                                               std::string_view end_of_word_suffix) const {
  if (encoded_word.empty()) return {};
  std::string key = encoded_word;
  key.append(1, '\0').append(end_of_word_suffix);
  {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }

  struct Symbol {
    std::string text;
    int prev, next;
    bool alive = true;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(encoded_word.size());
  for (std::size_t i = 0; i < encoded_word.size();) {
    const std::size_t length =
        std::min(utf8_length(static_cast<unsigned char>(encoded_word[i])), encoded_word.size() - i);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({encoded_word.substr(i, length), index - 1, index + 1});
    i += length;
  }
  symbols.back().next = -1;
  symbols.back().text.append(end_of_word_suffix);

  struct Candidate {
    int rank;
    int left;
    std::size_t left_size, right_size;  // symbols only grow, so equal sizes mean unchanged
    bool operator>(const Candidate& other) const { return std::tie(rank, left) > std::tie(other.rank, other.left); }
  };
  const auto candidate = [&](int left) -> std::optional<Candidate> {
    const int right = symbols[static_cast<std::size_t>(left)].next;
    if (right < 0) return std::nullopt;
    const auto& l = symbols[static_cast<std::size_t>(left)];
    const auto& r = symbols[static_cast<std::size_t>(right)];
    const std::optional<int> found = rank(l.text, r.text);
    if (!found) return std::nullopt;
    return Candidate{*found, left, l.text.size(), r.text.size()};
  };
  const auto still_valid = [&](const Candidate& c) {
    const Symbol& l = symbols[static_cast<std::size_t>(c.left)];
    return l.alive && l.next >= 0 && l.text.size() == c.left_size &&
           symbols[static_cast<std::size_t>(l.next)].text.size() == c.right_size;
  };

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  for (int i = 0; i < static_cast<int>(symbols.size()); ++i) {
    if (auto c = candidate(i)) heap.push(*c);
  }
  std::vector<Candidate> created;
  while (!heap.empty()) {
    const int round_rank = heap.top().rank;
    created.clear();
    while (!heap.empty() && heap.top().rank == round_rank) {
      const Candidate c = heap.top();
      heap.pop();
      if (!still_valid(c)) continue;
      Symbol& left = symbols[static_cast<std::size_t>(c.left)];
      Symbol& right = symbols[static_cast<std::size_t>(left.next)];
      left.text += right.text;
      right.alive = false;
      left.next = right.next;
      if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = c.left;
      if (left.prev >= 0) {
        if (auto p = candidate(left.prev)) created.push_back(*p);
      }
      if (auto n = candidate(c.left)) created.push_back(*n);
    }
    for (const Candidate& c : created) heap.push(c);
  }

  std::vector<std::string> pieces;
  for (int i = 0; i >= 0; i = symbols[static_cast<std::size_t>(i)].next) {
    pieces.push_back(std::move(symbols[static_cast<std::size_t>(i)].text));
  }
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedWords) cache_.clear();
  cache_.emplace(std::move(key), pieces);
  return pieces;
}

}  // namespace pawtrait::models
