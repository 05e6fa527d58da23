// A fresh temporary directory per test, removed with everything in it at scope exit.
#pragma once

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "hc/native/file_io.hpp"

namespace hc::test {

struct TempDir {
  std::filesystem::path root;

  explicit TempDir(const std::string& prefix = "hc-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    root = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    hc::native::remove_tree(root, ec);  // not std::filesystem::remove_all: see file_io.hpp
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // File names directly inside root.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(root))
      names.push_back(e.path().filename().string());
    return names;
  }
};

}  // namespace hc::test
