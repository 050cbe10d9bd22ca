#include "models/config_fields.h"

#include <cmath>

#include "common/error.h"

namespace pawtrait::models {

ConfigFields::ConfigFields(const nlohmann::json& json, std::string source) : json_(json), source_(std::move(source)) {
  if (!json_.is_object()) throw Error(source_ + ": expected a JSON object");
}

const nlohmann::json* ConfigFields::find(const char* key) const {
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool ConfigFields::has(const char* key) const { return find(key) != nullptr; }

void ConfigFields::fail(const char* key, const std::string& what) const {
  throw Error(source_ + ": \"" + key + "\" " + what);
}

std::int64_t ConfigFields::integer(const char* key, std::int64_t fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) fail(key, "must be a whole number, not " + v->dump());
  return v->get<std::int64_t>();
}

namespace {
bool is_size(std::int64_t v) { return v >= 1 && v <= ConfigFields::kMaxSize; }
const std::string kSizeRule = "a whole number from 1 to " + std::to_string(ConfigFields::kMaxSize);
}  // namespace

std::int64_t ConfigFields::size(const char* key, std::int64_t fallback) const {
  const std::int64_t v = integer(key, fallback);
  if (!is_size(v)) fail(key, "must be " + kSizeRule + ", not " + std::to_string(v));
  return v;
}

double ConfigFields::positive_number(const char* key, double fallback) const {
  const double v = number(key, fallback);
  if (!(v > 0) || !std::isfinite(v)) fail(key, "must be a number above 0, not " + nlohmann::json(v).dump());
  return v;
}

double ConfigFields::number(const char* key, double fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) fail(key, "must be a number, not " + v->dump());
  return v->get<double>();
}

bool ConfigFields::boolean(const char* key, bool fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(key, "must be true or false, not " + v->dump());
  return v->get<bool>();
}

std::string ConfigFields::text(const char* key, const std::string& fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) fail(key, "must be a string, not " + v->dump());
  return v->get<std::string>();
}

std::vector<std::int64_t> ConfigFields::integers(const char* key, const std::vector<std::int64_t>& fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_array()) fail(key, "must be a list of whole numbers, not " + v->dump());
  std::vector<std::int64_t> out;
  for (const auto& item : *v) {
    if (!item.is_number_integer()) fail(key, "must be a list of whole numbers; it holds " + item.dump());
    out.push_back(item.get<std::int64_t>());
  }
  return out;
}

std::vector<std::int64_t> ConfigFields::sizes(const char* key, const std::vector<std::int64_t>& fallback) const {
  std::vector<std::int64_t> list = integers(key, fallback);
  if (list.empty()) fail(key, "must not be empty");
  for (std::int64_t v : list) {
    if (!is_size(v))
      fail(key, "must hold whole numbers from 1 to " + std::to_string(kMaxSize) + "; it holds " + std::to_string(v));
  }
  return list;
}

std::vector<std::string> ConfigFields::texts(const char* key, const std::vector<std::string>& fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_array()) fail(key, "must be a list of strings, not " + v->dump());
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) fail(key, "must be a list of strings; it holds " + item.dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<std::int64_t> ConfigFields::per_block(const char* key, std::int64_t count, std::int64_t fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::vector<std::int64_t>(static_cast<std::size_t>(count), fallback);
  if (v->is_number_integer()) return std::vector<std::int64_t>(static_cast<std::size_t>(count), size(key, fallback));
  std::vector<std::int64_t> list = sizes(key, {0});
  if (static_cast<std::int64_t>(list.size()) != count) {
    fail(key, "has " + std::to_string(list.size()) + " entries but the model has " + std::to_string(count) + " blocks");
  }
  return list;
}

}  // namespace pawtrait::models
