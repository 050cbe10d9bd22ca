#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pawtrait::models {

// GPT-2's bytes_to_unicode, which CLIP's and Qwen's tokenizers share: every byte becomes a
// printable character (as UTF-8), so BPE never sees whitespace or control characters.
// Printable Latin-1 bytes stand for themselves; the others take U+0100 onwards in byte order.
const std::array<std::string, 256>& byte_level_alphabet();
// Whether byte b stands for itself in that alphabet.
bool byte_level_is_printable(int b);
// A string's bytes in that alphabet: what BPE runs on.
std::string byte_level_encode(std::string_view bytes);

// The merge rules of a byte-level BPE vocabulary and the merging itself: one implementation
// for CLIP's tokenizer (words end in "</w>") and the tokenizer.json ones (no suffix).
// Thread-safe after the rules are added: a word memo is guarded by a mutex.
class BytePairMerges {
 public:
  // The merge of `left` and `right` at `rank` (lower merges first). A repeated pair takes its
  // later rank, as a Python dict built from the merge list would.
  void add(const std::string& left, const std::string& right, int rank);
  std::optional<int> rank(const std::string& left, const std::string& right) const;
  std::size_t size() const { return ranks_.size(); }
  // "left right" -> rank.
  const std::unordered_map<std::string, int>& ranks() const { return ranks_; }

  // The pieces of one byte-level encoded word: its characters, `end_of_word_suffix` appended
  // to the last, merged by repeatedly joining every occurrence of the adjacent pair with the
  // lowest rank (left to right, without overlaps) until no pair has a rank.
  std::vector<std::string> merge(const std::string& encoded_word, std::string_view end_of_word_suffix) const;

 private:
  std::unordered_map<std::string, int> ranks_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::string>> cache_;
};

}  // namespace pawtrait::models
