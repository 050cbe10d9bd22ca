#include "common/json_file.h"

#include <fstream>
#include <sstream>

#include "common/error.h"

namespace pawtrait {
namespace {

// Replaces the non-standard literals outside of strings with null.
std::string standardize(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (const char* literal : {"-Infinity", "Infinity", "NaN"}) {
      const std::string_view word(literal);
      if (text.compare(i, word.size(), word) == 0) {
        out += "null";
        i += word.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

}  // namespace

nlohmann::json parse_python_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(standardize(text));
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": not valid JSON (" + e.what() + ")");
  }
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string());
  // Configs are kilobytes and the largest tokenizer.json files tens of megabytes; parsing takes
  // about ten times a file's size in memory.
  constexpr std::uintmax_t kMaxJsonFile = std::uintmax_t{64} << 20;
  std::error_code size_error;
  if (const auto size = std::filesystem::file_size(file, size_error); !size_error && size > kMaxJsonFile) {
    throw Error(file.string() + " is " + std::to_string(size >> 20) +
                " MiB; no config or tokenizer file is larger than " + std::to_string(kMaxJsonFile >> 20) +
                " MiB, so it is not read (is it the right file?)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_python_json(text.str(), file.string());
}

}  // namespace pawtrait
