#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pawtrait::models {

// Typed reads of a model's config.json. A missing or null key gives the reference's default;
// a value of the wrong type throws pawtrait::Error naming the file and the field.
class ConfigFields {
 public:
  ConfigFields(const nlohmann::json& json, std::string source);

  std::int64_t integer(const char* key, std::int64_t fallback) const;
  // A count of channels, heads, layers, groups, tokens: a whole number from 1 to kMaxSize.
  // Zero or a negative value would otherwise reach a division or an allocation.
  std::int64_t size(const char* key, std::int64_t fallback) const;
  double number(const char* key, double fallback) const;
  double positive_number(const char* key, double fallback) const;
  bool boolean(const char* key, bool fallback) const;
  std::string text(const char* key, const std::string& fallback) const;
  std::vector<std::int64_t> integers(const char* key, const std::vector<std::int64_t>& fallback) const;
  // A non-empty list of sizes (block_out_channels).
  std::vector<std::int64_t> sizes(const char* key, const std::vector<std::int64_t>& fallback) const;
  std::vector<std::string> texts(const char* key, const std::vector<std::string>& fallback) const;
  // A size or a per-block list of sizes (attention_head_dim); `count` entries either way.
  std::vector<std::int64_t> per_block(const char* key, std::int64_t count, std::int64_t fallback) const;
  bool has(const char* key) const;

  // Far above any real model (vocabularies are ~150k, widths ~5k), far below an overflow.
  static constexpr std::int64_t kMaxSize = std::int64_t{1} << 24;

  [[noreturn]] void fail(const char* key, const std::string& what) const;
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json* find(const char* key) const;
  const nlohmann::json& json_;
  std::string source_;
};

}  // namespace pawtrait::models
