// MappedFile: POSIX mmap of a whole file, read-only and private.
#include "hc/native/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace hc::native {
namespace {

hc::Error map_error(const std::filesystem::path& path, const std::string& what) {
  return hc::make_error(hc::ErrorCode::Malformed, path.string() + ": " + what);
}

}  // namespace

hc::Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return map_error(path, "file not found");
    return map_error(path, std::string("cannot open: ") + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return map_error(path, std::string("cannot stat: ") + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return map_error(path, "is a directory, expected a file");
  }
  MappedFile file;
  file.m_path = path;
  file.m_size = static_cast<std::size_t>(st.st_size);
  if (file.m_size > 0) {
    void* data = ::mmap(nullptr, file.m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      file.m_size = 0;
      return map_error(path, std::string("cannot map: ") + std::strerror(err));
    }
    file.m_data = data;
  }
  ::close(fd);  // the mapping stays valid after the descriptor is closed
  return file;
}

MappedFile::~MappedFile() {
  release();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)),
      m_size(std::exchange(other.m_size, 0)),
      m_path(std::move(other.m_path)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
    m_path = std::move(other.m_path);
  }
  return *this;
}

void MappedFile::release() {
  if (m_data != nullptr) ::munmap(m_data, m_size);
  m_data = nullptr;
  m_size = 0;
}

}  // namespace hc::native

namespace hc::native {

void MappedFile::drop_pages(std::span<const std::uint8_t> range) const {
  if (m_data == nullptr || range.empty()) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(range.data());
  const auto end = begin + range.size();
  const std::uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (last <= first) return;
  // Advisory: a failure only means the pages stay resident a little longer.
  (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace hc::native
