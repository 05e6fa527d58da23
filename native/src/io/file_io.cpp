// Whole-file reads and atomic (temp + fsync + rename) writes with path-naming errors.
#include "hc/native/file_io.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace hc::native {
namespace {

std::string describe(const std::filesystem::path& path, const std::string& what) {
  return path.string() + ": " + what;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// While a temporary exists, a fatal signal must not leave it behind: the handler unlinks the
// path held here (async-signal-safe calls only) and re-raises with the previous disposition.
constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};
char g_pending_temp[4096];
volatile sig_atomic_t g_has_pending_temp = 0;
struct sigaction g_previous[3];

void cleanup_on_signal(int sig) {
  if (g_has_pending_temp) unlink(g_pending_temp);
  for (int i = 0; i < 3; ++i) {
    if (kCleanupSignals[i] == sig) sigaction(sig, &g_previous[i], nullptr);
  }
  raise(sig);
}

// Registers `temp` for signal cleanup for its lifetime; paths too long for the buffer are
// simply not protected (the normal failure paths still remove them).
class TempGuard {
 public:
  explicit TempGuard(const std::filesystem::path& temp) : m_temp(temp) {
    const std::string s = temp.string();
    if (s.size() >= sizeof(g_pending_temp)) return;
    std::memcpy(g_pending_temp, s.c_str(), s.size() + 1);
    struct sigaction action {};
    action.sa_handler = cleanup_on_signal;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < 3; ++i) {
      sigaction(kCleanupSignals[i], nullptr, &g_previous[i]);
      // An ignored signal (nohup) must stay ignored: it will not end the process.
      if (g_previous[i].sa_handler != SIG_IGN) sigaction(kCleanupSignals[i], &action, nullptr);
    }
    g_has_pending_temp = 1;
    m_armed = true;
  }
  ~TempGuard() {
    if (m_remove_temp) unlink(m_temp.c_str());
    if (!m_armed) return;
    g_has_pending_temp = 0;
    for (int i = 0; i < 3; ++i) sigaction(kCleanupSignals[i], &g_previous[i], nullptr);
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;

  // After a successful rename the temporary name no longer exists; nothing to remove.
  void committed() { m_remove_temp = false; }

 private:
  std::filesystem::path m_temp;
  bool m_armed = false;
  bool m_remove_temp = true;
};

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Makes the rename itself durable; failures here are not worth failing the command over,
// since the data is already complete under its final name.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

hc::Status read_file(const std::filesystem::path& path, std::vector<std::uint8_t>& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return hc::make_error(hc::ErrorCode::InputUnreadable, describe(path, "no such file"));
    }
    if (err == EISDIR)
      return hc::make_error(hc::ErrorCode::InputUnreadable,
                            describe(path, "is a directory, not a file"));
    return hc::make_error(hc::ErrorCode::InputUnreadable,
                          describe(path, "cannot open: " + errno_text(err)));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int err = errno;
    ::close(fd);
    return hc::make_error(hc::ErrorCode::InputUnreadable,
                          describe(path, "cannot stat: " + errno_text(err)));
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return hc::make_error(hc::ErrorCode::InputUnreadable,
                          describe(path, "is a directory, not a file"));
  }
  if (S_ISREG(info.st_mode)) out.reserve(static_cast<std::size_t>(info.st_size));

  std::uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      out.clear();
      return hc::make_error(hc::ErrorCode::InputUnreadable,
                            describe(path, "read failed: " + errno_text(err)));
    }
    out.insert(out.end(), chunk, chunk + n);
  }
  ::close(fd);
  return hc::Ok{};
}

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid());
  return temp;
}

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// True when `pid` names a process that runs on this machine (or cannot be checked).
bool process_runs(std::string_view pid_text) {
  const pid_t pid = static_cast<pid_t>(std::stol(std::string(pid_text)));
  if (pid <= 0 || pid == ::getpid()) return true;
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

// The writer pids in a temporary's name left beside `name`, or none when it is not one.
std::vector<std::string_view> writer_pids(std::string_view entry, const std::string& name) {
  std::vector<std::string_view> pids;
  const std::string hidden = "." + name + ".tmp-";
  if (entry.size() > hidden.size() && entry.substr(0, hidden.size()) == hidden) {
    const std::string_view rest = entry.substr(hidden.size());  // <pid>-XXXXXX
    const std::size_t dash = rest.find('-');
    if (dash != std::string_view::npos && all_digits(rest.substr(0, dash))) {
      pids.push_back(rest.substr(0, dash));
    }
    return pids;
  }
  if (entry.size() <= name.size() + 1 || entry.substr(0, name.size()) != name ||
      entry[name.size()] != '.') {
    return pids;
  }
  std::string_view rest = entry.substr(name.size() + 1);  // (tmp|staging).<pid>[.tmp.<pid>]...
  while (!rest.empty()) {
    const std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos) return {};
    const std::string_view kind = rest.substr(0, dot);
    if (kind != "tmp" && kind != "staging") return {};
    rest = rest.substr(dot + 1);
    const std::size_t end = std::min(rest.find('.'), rest.size());
    if (!all_digits(rest.substr(0, end))) return {};
    pids.push_back(rest.substr(0, end));
    rest = end < rest.size() ? rest.substr(end + 1) : std::string_view();
  }
  return pids;
}

}  // namespace

std::size_t remove_dead_temporaries(const std::filesystem::path& target) {
  std::filesystem::path t = target;
  if (t.filename().empty()) t = t.parent_path();  // "out/" -> "out"
  const std::string name = t.filename().string();
  if (name.empty()) return 0;
  const std::filesystem::path parent = t.has_parent_path() ? t.parent_path() : ".";
  std::error_code ec;
  std::vector<std::filesystem::path> dead;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    const std::string entry_name = entry.path().filename().string();
    const auto pids = writer_pids(entry_name, name);
    if (pids.empty()) continue;
    bool running = false;
    for (const auto pid : pids) running = running || process_runs(pid);
    if (!running) dead.push_back(entry.path());
  }
  std::size_t removed = 0;
  for (const auto& path : dead) {
    remove_tree(path, ec);
    removed += !ec;
  }
  return removed;
}

hc::Status write_file_atomic(const std::filesystem::path& path,
                             std::span<const std::uint8_t> bytes) {
  auto fail = [&](const std::string& what) {
    return hc::make_error(hc::ErrorCode::WriteFailed, describe(path, what));
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory");
  const std::filesystem::path parent = path.parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    return fail("cannot write: directory '" + parent.string() + "' does not exist");
  }

  remove_dead_temporaries(path);
  const std::filesystem::path temp = temp_path_for(path);
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  int fd = ::open(temp.c_str(), flags, 0666);
  if (fd < 0 && errno == EEXIST) {
    // A leftover from an earlier process that had our pid; it is ours to replace.
    ::unlink(temp.c_str());
    fd = ::open(temp.c_str(), flags, 0666);
  }
  if (fd < 0) return fail("cannot create '" + temp.string() + "': " + errno_text(errno));

  TempGuard guard(temp);
  if (!write_all(fd, bytes.data(), bytes.size())) {
    const int err = errno;
    ::close(fd);
    return fail("write failed: " + errno_text(err));
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("fsync failed: " + errno_text(err));
  }
  if (::close(fd) != 0) return fail("close failed: " + errno_text(errno));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail("cannot rename temporary into place: " + errno_text(errno));
  }
  guard.committed();
  sync_directory(parent);
  return hc::Ok{};
}

hc::Result<FileWriter> FileWriter::create(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    return hc::make_error(hc::ErrorCode::WriteFailed,
                          describe(path, "cannot create: " + errno_text(errno)));
  }
  return FileWriter(path, fd);
}

FileWriter::FileWriter(FileWriter&& other) noexcept
    : m_path(std::move(other.m_path)), m_fd(std::exchange(other.m_fd, -1)) {}

FileWriter& FileWriter::operator=(FileWriter&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_path = std::move(other.m_path);
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

FileWriter::~FileWriter() {
  if (m_fd >= 0) ::close(m_fd);
}

hc::Status FileWriter::write(const void* data, std::size_t size) {
  if (m_fd < 0) return hc::make_error(hc::ErrorCode::WriteFailed, describe(m_path, "closed"));
  if (!write_all(m_fd, static_cast<const std::uint8_t*>(data), size)) {
    return hc::make_error(hc::ErrorCode::WriteFailed,
                          describe(m_path, "write failed: " + errno_text(errno)));
  }
  return hc::Ok{};
}

hc::Status FileWriter::finish() {
  if (m_fd < 0) return hc::make_error(hc::ErrorCode::WriteFailed, describe(m_path, "closed"));
  const int fd = std::exchange(m_fd, -1);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return hc::make_error(hc::ErrorCode::WriteFailed,
                          describe(m_path, "fsync failed: " + errno_text(err)));
  }
  if (::close(fd) != 0) {
    return hc::make_error(hc::ErrorCode::WriteFailed,
                          describe(m_path, "close failed: " + errno_text(errno)));
  }
  return hc::Ok{};
}

hc::Status write_text_atomic(const std::filesystem::path& path, std::string_view text) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
  return write_file_atomic(path, std::span<const std::uint8_t>(data, text.size()));
}

namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

}  // namespace

void remove_tree(const std::filesystem::path& path, std::error_code& ec) {
  ec.clear();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) ec.assign(errno, std::generic_category());
    return;
  }
  // Depth first (contents before their directory), physical (links removed, not followed).
  if (::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS) != 0) {
    ec.assign(errno != 0 ? errno : EIO, std::generic_category());
  }
}

}  // namespace hc::native
