#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace pawtrait::testing {

// The shared test data; PAWTRAIT_TESTDATA in the environment moves it (the device check
// carries its own copy to a machine where the build's path does not exist).
inline std::filesystem::path testdata() {
  const char* moved = std::getenv("PAWTRAIT_TESTDATA");
  return moved != nullptr && *moved != '\0' ? std::filesystem::path(moved) : std::filesystem::path(PAWTRAIT_TESTDATA);
}

// A fresh folder per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("pawtrait-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path path(const std::string& name) const { return dir_ / name; }

  std::filesystem::path write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream out(path(name), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }

  std::string read_bytes(const std::filesystem::path& file) const {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::filesystem::path dir_;
};

// A message check that prints the message when it fails.
#define EXPECT_THROW_MESSAGE(statement, ...)                                                                 \
  do {                                                                                                       \
    try {                                                                                                    \
      statement;                                                                                             \
      ADD_FAILURE() << "expected an exception from: " #statement;                                            \
    } catch (const std::exception& e) {                                                                      \
      const std::string message = e.what();                                                                  \
      for (const char* part : {__VA_ARGS__}) {                                                               \
        EXPECT_NE(message.find(part), std::string::npos) << "message lacks \"" << part << "\": " << message; \
      }                                                                                                      \
    }                                                                                                        \
  } while (0)

// A copy of a model folder whose configs are real files (to edit) and whose weights are
// links to the originals.
inline void copy_model_with_linked_weights(const std::filesystem::path& source, const std::filesystem::path& out) {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::recursive_directory_iterator(source)) {
    const fs::path target = out / fs::relative(entry.path(), source);
    if (entry.is_directory()) {
      fs::create_directories(target);
    } else if (entry.path().extension() == ".safetensors") {
      fs::create_symlink(entry.path(), target);
    } else {
      fs::copy_file(entry.path(), target);
    }
  }
}

}  // namespace pawtrait::testing
