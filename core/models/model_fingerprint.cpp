#include "models/model_fingerprint.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/atomic_file.h"
#include "common/cache_folder.h"
#include "common/error.h"
#include "common/json_file.h"
#include "common/sha256.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kShortHashDigits = 10;
constexpr std::uintmax_t kSample = std::uintmax_t{1} << 20;
constexpr std::uintmax_t kSlowFile = std::uintmax_t{256} << 20;
// A cache of more entries than anyone has models drops those whose files are gone.
constexpr std::size_t kCacheEntries = 512;

std::mutex g_cache_mutex;  // one writer at a time within the process (the app's threads)

bool left_out(const fs::path& name) {
  const std::string text = name.string();
  return text.starts_with(".") || text.ends_with(kTemporarySuffix);
}

std::int64_t modified_ns(const fs::path& path) {
  std::error_code error;
  const auto time = fs::last_write_time(path, error);
  if (error) return 0;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// A folder's files, relative and sorted, so that the digest does not depend on the order
// the file system lists them in.
std::vector<fs::path> folder_files(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code error;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, error), end;
  if (error) throw Error("can't read the folder " + folder.string() + ": " + error.message());
  for (; it != end; it.increment(error)) {
    if (error) throw Error("can't read the folder " + folder.string() + ": " + error.message());
    if (left_out(it->path().filename())) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error)) files.push_back(it->path().lexically_relative(folder));
  }
  std::sort(files.begin(), files.end());
  return files;
}

void read_into(std::ifstream& in, Sha256& sha, std::uintmax_t bytes, const fs::path& file) {
  std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uintmax_t>(bytes, kSample)));
  while (bytes > 0) {
    const auto chunk = static_cast<std::streamsize>(std::min<std::uintmax_t>(bytes, buffer.size()));
    if (!in.read(buffer.data(), chunk)) throw Error("can't read " + file.string() + ": " + std::strerror(errno));
    sha.update(buffer.data(), static_cast<std::size_t>(chunk));
    bytes -= static_cast<std::uintmax_t>(chunk);
  }
}

// The SHA-256 of a folder member: whole up to two samples' size, else its first and last MiB.
std::string sampled_sha256(const fs::path& file, std::uintmax_t size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("can't read " + file.string() + ": " + std::strerror(errno));
  Sha256 sha;
  if (size <= 2 * kSample) {
    read_into(in, sha, size, file);
  } else {
    read_into(in, sha, kSample, file);
    in.seekg(static_cast<std::streamoff>(size - kSample));
    read_into(in, sha, kSample, file);
  }
  return sha.hex_digest();
}

// What changes when the model does: a file's size and time; for a folder, its members'.
std::string stamp_of(const fs::path& model, const std::vector<fs::path>* members) {
  std::error_code error;
  if (members == nullptr) {
    return std::to_string(fs::file_size(model, error)) + ":" + std::to_string(modified_ns(model));
  }
  std::string listing;
  for (const fs::path& member : *members) {
    listing += member.generic_string() + '\t' + std::to_string(fs::file_size(model / member, error)) + '\t' +
               std::to_string(modified_ns(model / member)) + '\n';
  }
  return sha256_hex(listing);
}

std::string compute(const fs::path& model, const std::vector<fs::path>* members,
                    const std::function<void(const std::string&)>& on_slow) {
  std::error_code error;
  if (members == nullptr) {
    const std::uintmax_t size = fs::file_size(model, error);
    if (error) throw Error("can't read " + model.string() + ": " + error.message());
    if (size > kSlowFile && on_slow) {
      on_slow("reading " + model.filename().string() + " (" + std::to_string(size >> 20) +
              " MiB) once for the short hash its pictures carry");
    }
    return sha256_file(model).value();
  }
  if (members->empty()) throw Error(model.string() + " is an empty folder: there is no model in it");
  std::string listing;
  for (const fs::path& member : *members) {
    const std::uintmax_t size = fs::file_size(model / member, error);
    if (error) throw Error("can't read " + (model / member).string() + ": " + error.message());
    listing +=
        member.generic_string() + '\t' + std::to_string(size) + '\t' + sampled_sha256(model / member, size) + '\n';
  }
  return sha256_hex(listing);
}

nlohmann::json read_cache(const fs::path& cache) {
  std::error_code error;
  if (!fs::exists(cache, error)) return nlohmann::json::object();
  try {
    nlohmann::json json = read_json_file(cache);
    if (json.is_object()) return json;
  } catch (const Error&) {
    // A torn or foreign cache is made again, not trusted.
  }
  return nlohmann::json::object();
}

void write_cache(const fs::path& cache, nlohmann::json& json) {
  if (json.size() > kCacheEntries) {
    for (auto it = json.begin(); it != json.end();) {
      std::error_code error;
      it = fs::exists(it.key(), error) ? std::next(it) : json.erase(it);
    }
  }
  while (json.size() > kCacheEntries) json.erase(json.begin());
  try {
    std::error_code error;
    fs::create_directories(cache.parent_path(), error);
    write_file_atomically(cache, json.dump(1) + "\n");
  } catch (const Error&) {
    // A cache that cannot be written (a read-only home, a full disk) costs time, not results.
  }
}

}  // namespace

std::string shared_name(const fs::path& model) {
  const fs::path path = model.lexically_normal();
  if (path.has_filename()) return path.filename().string();
  return path.parent_path().filename().string();  // "folder/"
}

fs::path default_hash_cache() { return cache_folder() / "hashes.json"; }

std::string short_hash(const fs::path& model, const fs::path& cache,
                       const std::function<void(const std::string&)>& on_slow) {
  std::error_code error;
  const fs::file_status status = fs::status(model, error);
  if (error || !fs::exists(status)) throw Error(model.string() + " does not exist");
  std::vector<fs::path> members;
  const bool folder = fs::is_directory(status);
  if (folder) members = folder_files(model);
  const std::vector<fs::path>* listed = folder ? &members : nullptr;
  const std::string stamp = stamp_of(model, listed);
  const fs::path absolute = fs::absolute(model, error).lexically_normal();
  const std::string key = (error ? model : absolute).string();

  if (!cache.empty()) {
    const std::lock_guard lock(g_cache_mutex);
    const nlohmann::json json = read_cache(cache);
    const auto it = json.find(key);
    if (it != json.end() && it->is_object() && it->value("stamp", "") == stamp) {
      const std::string hash = it->value("hash", "");
      if (hash.size() == kShortHashDigits) return hash;
    }
  }
  const std::string hash = compute(model, listed, on_slow).substr(0, kShortHashDigits);
  if (!cache.empty()) {
    const std::lock_guard lock(g_cache_mutex);
    nlohmann::json json = read_cache(cache);  // again: another process may have added entries
    json[key] = {{"stamp", stamp}, {"hash", hash}};
    write_cache(cache, json);
  }
  return hash;
}

}  // namespace pawtrait::models
