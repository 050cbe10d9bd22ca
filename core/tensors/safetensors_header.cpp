#include "tensors/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "common/error.h"

namespace pawtrait::tensors {
namespace {

using nlohmann::json;

// Real headers nest three deep ({name: {shape: [..]}}); anything deeper is hostile.
constexpr int kMaxJsonDepth = 8;

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw Error(source + ": " + what +
              " (the file is damaged, truncated or not a safetensors file: download or export it again)");
}

[[noreturn]] void fail_tensor(const std::string& source, const std::string& name, const std::string& what) {
  fail(source, "tensor '" + name + "': " + what);
}

std::uint64_t read_le_u64(const std::byte* p) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<std::uint64_t>(p[i]);
  return value;
}

// nlohmann keeps the last of duplicate keys silently; a tensor listed twice must be an error.
json parse_rejecting_duplicates(std::string_view text, const std::string& source) {
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) fail(source, "the header nests deeper than any safetensors header does");
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open_objects.empty() && !open_objects.back().insert(key).second) {
          if (open_objects.size() == 1) fail(source, "tensor '" + key + "' appears twice in the header");
          fail(source, "key '" + key + "' appears twice in one header entry");
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    fail(source, std::string("the header is not valid JSON (") + e.what() + ")");
  }
}

std::uint64_t to_u64(const json& value, const std::string& source, const std::string& name, const char* field) {
  if (!value.is_number_unsigned()) fail_tensor(source, name, std::string(field) + " must hold non-negative integers");
  return value.get<std::uint64_t>();
}

TensorEntry parse_entry(const std::string& name, const json& value, const std::string& source) {
  if (!value.is_object()) fail_tensor(source, name, "its header entry is not an object");
  TensorEntry entry;
  entry.name = name;

  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) fail_tensor(source, name, "has no dtype");
  const auto& dtype_text = dtype_it->get_ref<const std::string&>();
  auto dtype = dtype_from_name(dtype_text);
  if (!dtype) fail_tensor(source, name, "unknown dtype \"" + dtype_text + "\"");
  entry.dtype = *dtype;

  auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) fail_tensor(source, name, "has no shape");
  std::uint64_t numel = 1;
  for (const json& dim : *shape_it) {
    std::uint64_t d = to_u64(dim, source, name, "shape");
    if (d > static_cast<std::uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, d, &numel) ||
        numel > static_cast<std::uint64_t>(INT64_MAX)) {
      fail_tensor(source, name, "its shape has more elements than any file can hold");
    }
    entry.shape.push_back(static_cast<std::int64_t>(d));
  }

  auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    fail_tensor(source, name, "data_offsets must be [begin, end]");
  }
  entry.begin = to_u64((*offsets_it)[0], source, name, "data_offsets");
  entry.end = to_u64((*offsets_it)[1], source, name, "data_offsets");
  if (entry.end < entry.begin) {
    fail_tensor(
        source, name,
        "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "] end before they begin");
  }

  std::uint64_t expected_bytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(entry.dtype)), &expected_bytes) ||
      expected_bytes != entry.byte_size()) {
    fail_tensor(source, name,
                "holds " + std::to_string(entry.byte_size()) + " bytes but its dtype " + dtype_text +
                    " and shape need " + std::to_string(numel) + " x " + std::to_string(dtype_size(entry.dtype)) +
                    " bytes");
  }
  return entry;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  if (value.is_null()) return {};
  if (!value.is_object()) fail(source, "__metadata__ must be an object of strings");
  std::map<std::string, std::string> metadata;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string()) fail(source, "__metadata__ entry '" + it.key() + "' is not a string");
    metadata.emplace(it.key(), it.value().get<std::string>());
  }
  return metadata;
}

}  // namespace

std::int64_t TensorEntry::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file, const std::string& source) {
  if (file.empty()) fail(source, "the file is empty");
  if (file.size() < 8) fail(source, "the file is " + std::to_string(file.size()) + " bytes, too short for a header");

  const std::uint64_t header_size = read_le_u64(file.data());
  const std::uint64_t available = file.size() - 8;
  if (header_size > available) {
    fail(source, "the header length (" + std::to_string(header_size) + " bytes) runs past the end of the file (" +
                     std::to_string(file.size()) + " bytes)");
  }
  if (header_size > kMaxSafetensorsHeaderSize) {
    fail(source, "the header is " + std::to_string(header_size) + " bytes, more than any real model needs");
  }
  if (header_size < 2) fail(source, "the header is too short to be a JSON object");

  std::string_view text(reinterpret_cast<const char*>(file.data() + 8), header_size);
  // The format allows trailing spaces as padding, but the header must start as an object.
  if (text.front() != '{') fail(source, "the header is not a JSON object");
  json header = parse_rejecting_duplicates(text, source);
  if (!header.is_object()) fail(source, "the header is not a JSON object");

  SafetensorsHeader result;
  result.data_start = 8 + header_size;
  result.data_size = available - header_size;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      result.metadata = parse_metadata(it.value(), source);
    } else {
      result.tensors.push_back(parse_entry(it.key(), it.value(), source));
    }
  }

  std::sort(result.tensors.begin(), result.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The tensors must tile the data section: each starts where the previous one ended.
  std::uint64_t expected_begin = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry& entry : result.tensors) {
    if (entry.end > result.data_size) {
      fail_tensor(source, entry.name,
                  "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                      "] run past the end of the data (" + std::to_string(result.data_size) + " bytes)");
    }
    if (entry.begin < expected_begin) {
      fail_tensor(source, entry.name, "its data overlaps tensor '" + previous->name + "'");
    }
    if (entry.begin > expected_begin) {
      fail_tensor(
          source, entry.name,
          "there is a gap of " + std::to_string(entry.begin - expected_begin) + " unused bytes before its data");
    }
    expected_begin = entry.end;
    previous = &entry;
  }
  if (expected_begin != result.data_size) {
    fail(source, std::to_string(result.data_size - expected_begin) +
                     " bytes after the last tensor belong to no tensor (the header does not describe the whole file)");
  }
  return result;
}

}  // namespace pawtrait::tensors
