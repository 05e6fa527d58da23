// Shared helpers for the end-to-end CLI suites: run the built `hodgecover` in a fresh
// directory per test and capture its exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hc/safetensors.hpp"
#include "hc/stats_file.hpp"
#include "temp_dir.hpp"

namespace hc::test {

namespace fs = std::filesystem;

struct RunResult {
  int code = -1;
  std::string out, err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void spit(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A fresh directory per test: `work/` is where commands run (and must stay free of stray
// files); captured stdout/stderr live beside it.
struct CliFixture : TempDir {
  fs::path work;

  CliFixture() : TempDir("hc-test-cli") {
    work = root / "work";
    fs::create_directory(work);
  }

  RunResult run(const std::string& args) const { return shell(quote(HC_CLI_PATH) + " " + args); }

  // Runs any shell command in work/, capturing its exit code and output.
  RunResult shell(const std::string& line) const {
    const std::string command = "cd " + quote(work.string()) + " && " + line + " >" +
                                quote((root / "stdout").string()) + " 2>" +
                                quote((root / "stderr").string());
    const int status = std::system(command.c_str());
    RunResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(root / "stdout");
    r.err = slurp(root / "stderr");
    return r;
  }

  // Runs and requires success, showing stderr otherwise.
  RunResult ok(const std::string& args) const {
    RunResult r = run(args);
    BOOST_REQUIRE_MESSAGE(r.code == 0,
                          "hodgecover " << args << " exited " << r.code << ": " << r.err);
    return r;
  }

  // The statistics file work/<name>, which must be valid.
  hc::StatsFile read_stats_file(const std::string& name) const {
    std::ifstream in(work / name, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
    auto stats = hc::read_stats(bytes, name);
    BOOST_REQUIRE_MESSAGE(stats.ok(), name << ": " << (stats.ok() ? "" : stats.error().message));
    return *stats;
  }

  void synth(const std::string& name, const std::string& extra = "", int seed = 1) const {
    ok("synth --layers 3 --experts 8 --seed " + std::to_string(seed) + " --out " + name + " " +
       extra);
  }

  std::vector<std::string> work_files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(work)) {
      names.push_back(fs::relative(entry.path(), work).string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline void check_no_temporaries(const CliFixture& f) {
  for (const auto& name : f.work_files()) {
    BOOST_CHECK_MESSAGE(!contains(name, ".tmp."), "temporary left behind: " << name);
  }
}

// A safetensors container with the given metadata and one small tensor.
inline std::string container_with(const std::map<std::string, std::string>& metadata) {
  hc::SafetensorsWriter writer;
  for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
  const float values[2] = {1.0f, 2.0f};
  BOOST_REQUIRE(writer
                    .add_tensor("x", hc::Dtype::F32, {2},
                                {reinterpret_cast<const std::uint8_t*>(values), sizeof(values)})
                    .ok());
  const auto bytes = writer.serialize();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace hc::test
