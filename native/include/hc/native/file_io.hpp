// Whole-file reads and atomic writes. Exception-free: failures come back as hc::Status whose
// message names the path, so every command reports them the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/result.hpp"

namespace hc::native {

// Reads the whole file at `path` into `out` (replacing its contents). A missing file, a
// directory or a read error is InputUnreadable with a message "<path>: <what went wrong>".
hc::Status read_file(const std::filesystem::path& path, std::vector<std::uint8_t>& out);

// Writes `bytes` so that `path` either keeps its old contents or holds all of the new ones:
// the data goes to `<path>.tmp.<pid>` in the same directory, is fsynced, then renamed over
// `path`. The temporary is removed on every failure, and also if SIGINT/SIGTERM/SIGHUP arrives
// while it exists. Every failure is WriteFailed naming the path.
hc::Status write_file_atomic(const std::filesystem::path& path,
                             std::span<const std::uint8_t> bytes);
hc::Status write_text_atomic(const std::filesystem::path& path, std::string_view text);

// A file written in pieces (the checkpoint writer's shards, inside a staging folder that is
// renamed as a whole): created or truncated by create(), synced and closed by finish(). Every
// failure is WriteFailed "<path>: <what>: <reason>"; a writer dropped unfinished just closes.
class FileWriter {
 public:
  static hc::Result<FileWriter> create(const std::filesystem::path& path);
  FileWriter(FileWriter&& other) noexcept;
  FileWriter& operator=(FileWriter&& other) noexcept;
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  ~FileWriter();

  hc::Status write(const void* data, std::size_t size);
  hc::Status finish();

 private:
  FileWriter(std::filesystem::path path, int fd) : m_path(std::move(path)), m_fd(fd) {}
  std::filesystem::path m_path;
  int m_fd = -1;
};

// Removes what killed writers left beside `target` (SIGKILL or a power cut skip every cleanup):
// "<name>.tmp.<pid>", "<name>.staging.<pid>" with their nested temporaries, and
// ".<name>.tmp-<pid>-XXXXXX", when process <pid> no longer runs on this machine. Temporaries of
// running processes (this one included) are kept. Returns how many entries were removed.
std::size_t remove_dead_temporaries(const std::filesystem::path& target);

// The temporary name write_file_atomic uses for `path` in this process.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

// Removes `path` and everything under it, like std::filesystem::remove_all(path, ec) (a missing
// path is no error; symbolic links are removed, not followed), but through POSIX nftw: LibTorch
// from pip (manylinux wheels) exports its own std::filesystem::remove_all, which the dynamic
// linker binds ahead of libstdc++'s and which crashes on a non-empty directory (seen with
// torch 2.11 on Ubuntu 24.04: `extract` died in its final cleanup).
void remove_tree(const std::filesystem::path& path, std::error_code& ec);

}  // namespace hc::native
