// Read-only memory map of a whole file (RAII, move-only). Used to read checkpoint shards
// without copying them; errors name the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "hc/result.hpp"

namespace hc::native {

class MappedFile {
 public:
  // Maps `path` read-only. A missing file, a directory or an unreadable file is an error
  // (ErrorCode::Malformed, message "<path>: ..."). An empty file maps to an empty span.
  static hc::Result<MappedFile> open(const std::filesystem::path& path);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The file's bytes; valid while this object lives (moving it keeps the address).
  std::span<const std::uint8_t> bytes() const {
    return {static_cast<const std::uint8_t*>(m_data), m_size};
  }
  std::size_t size() const { return m_size; }
  const std::filesystem::path& path() const { return m_path; }

  // Tells the kernel the pages wholly inside `range` (a subspan of bytes()) are not needed
  // now: they leave this process's resident set and are read again on the next access. Lets
  // a layer-streamed reader keep its resident memory near one layer, whatever the file size.
  void drop_pages(std::span<const std::uint8_t> range) const;

 private:
  void release();

  void* m_data = nullptr;
  std::size_t m_size = 0;
  std::filesystem::path m_path;
};

}  // namespace hc::native
