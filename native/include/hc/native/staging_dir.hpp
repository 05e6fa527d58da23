// A private working directory beside an output ("<dir>/.<name>.tmp-<pid>-XXXXXX"), removed with
// all its contents unless released: outputs are built there and renamed into place when
// complete. Creating one first removes those of writers that were killed.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "hc/native/file_io.hpp"
#include "hc/result.hpp"

namespace hc::native {

class StagingDir {
 public:
  // WriteFailed, naming `target` and its directory, when it cannot be created.
  static hc::Result<StagingDir> beside(const std::filesystem::path& target) {
    const std::filesystem::path parent =
        target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    remove_dead_temporaries(target);
    std::string pattern = (parent / ("." + target.filename().string() + ".tmp-" +
                                     std::to_string(::getpid()) + "-XXXXXX"))
                              .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return hc::make_error(
          hc::ErrorCode::WriteFailed,
          target.string() + ": cannot create a working directory in " + parent.string());
    }
    return StagingDir(pattern);
  }
  StagingDir(StagingDir&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}
  StagingDir& operator=(StagingDir&&) = delete;
  ~StagingDir() {
    if (m_path.empty()) return;
    std::error_code ec;
    remove_tree(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }
  void release() { m_path.clear(); }  // the caller has moved the contents into place

 private:
  explicit StagingDir(std::filesystem::path path) : m_path(std::move(path)) {}
  std::filesystem::path m_path;
};

}  // namespace hc::native
