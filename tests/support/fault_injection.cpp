// LD_PRELOAD library for the write-failure tests: counts every write step a process takes on
// paths under $HC_FAULT_PREFIX (creating a file or a directory, writing, syncing, copying,
// renaming) and makes step $HC_FAULT_AT and every later one fail with errno $HC_FAULT_ERRNO
// (default ENOSPC), the way a disk that fills up, a permission that is lost or a rename that is
// refused would. With $HC_FAULT_LOG set, each step appends "<n> <operation> <path>" there, so a
// test first counts the steps of a clean run (HC_FAULT_AT=0 never fails) and then fails each.
// Reads, unlinks and removals are never failed: cleanup must stay possible.
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

template <typename F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

struct Settings {
  std::string prefix;
  long fail_at = 0;
  int error = ENOSPC;
  int log_fd = -1;
};

const Settings& settings() {
  static const Settings s = [] {
    Settings out;
    if (const char* p = std::getenv("HC_FAULT_PREFIX")) out.prefix = p;
    if (const char* a = std::getenv("HC_FAULT_AT")) out.fail_at = std::atol(a);
    if (const char* e = std::getenv("HC_FAULT_ERRNO")) out.error = std::atoi(e);
    if (const char* l = std::getenv("HC_FAULT_LOG")) {
      static auto open_fn = real<int (*)(const char*, int, ...)>("open");
      out.log_fd = open_fn(l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    return out;
  }();
  return s;
}

std::atomic<long> g_steps{0};

std::string absolute(int dirfd, const char* path) {
  if (path == nullptr) return {};
  if (path[0] == '/') return path;
  char base[4096];
  if (dirfd == AT_FDCWD) {
    if (getcwd(base, sizeof base) == nullptr) return path;
  } else {
    const std::string link = "/proc/self/fd/" + std::to_string(dirfd);
    const ssize_t n = readlink(link.c_str(), base, sizeof base - 1);
    if (n <= 0) return path;
    base[n] = '\0';
  }
  return std::string(base) + "/" + path;
}

std::string path_of_fd(int fd) {
  char buf[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

bool writable_fd(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_ACCMODE) != O_RDONLY;
}

// Counts one step on `path`; true (with errno set) when it must fail.
bool fails(const char* operation, const std::string& path) {
  const Settings& s = settings();
  if (s.prefix.empty() || path.compare(0, s.prefix.size(), s.prefix) != 0) return false;
  const long n = ++g_steps;
  if (s.log_fd >= 0) {
    const std::string line = std::to_string(n) + " " + operation + " " + path + "\n";
    static auto write_fn = real<ssize_t (*)(int, const void*, size_t)>("write");
    write_fn(s.log_fd, line.data(), line.size());
  }
  if (s.fail_at > 0 && n >= s.fail_at) {
    errno = s.error;
    return true;
  }
  return false;
}

bool fd_fails(const char* operation, int fd) {
  if (settings().prefix.empty() || !writable_fd(fd)) return false;
  return fails(operation, path_of_fd(fd));
}

bool opens_for_writing(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT) != 0;
}

bool mode_writes(const char* mode) {
  return mode != nullptr && (std::strpbrk(mode, "wa+") != nullptr);
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? va_arg(args, mode_t) : 0;
  va_end(args);
  if (opens_for_writing(flags) && fails("open", absolute(AT_FDCWD, path))) return -1;
  static auto fn = real<int (*)(const char*, int, ...)>("open");
  return fn(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? va_arg(args, mode_t) : 0;
  va_end(args);
  if (opens_for_writing(flags) && fails("open", absolute(AT_FDCWD, path))) return -1;
  static auto fn = real<int (*)(const char*, int, ...)>("open64");
  return fn(path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? va_arg(args, mode_t) : 0;
  va_end(args);
  if (opens_for_writing(flags) && fails("open", absolute(dirfd, path))) return -1;
  static auto fn = real<int (*)(int, const char*, int, ...)>("openat");
  return fn(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? va_arg(args, mode_t) : 0;
  va_end(args);
  if (opens_for_writing(flags) && fails("open", absolute(dirfd, path))) return -1;
  static auto fn = real<int (*)(int, const char*, int, ...)>("openat64");
  return fn(dirfd, path, flags, mode);
}

FILE* fopen(const char* path, const char* mode) {
  if (mode_writes(mode) && fails("fopen", absolute(AT_FDCWD, path))) return nullptr;
  static auto fn = real<FILE* (*)(const char*, const char*)>("fopen");
  return fn(path, mode);
}

FILE* fopen64(const char* path, const char* mode) {
  if (mode_writes(mode) && fails("fopen", absolute(AT_FDCWD, path))) return nullptr;
  static auto fn = real<FILE* (*)(const char*, const char*)>("fopen64");
  return fn(path, mode);
}

ssize_t write(int fd, const void* data, size_t size) {
  if (fd_fails("write", fd)) return -1;
  static auto fn = real<ssize_t (*)(int, const void*, size_t)>("write");
  return fn(fd, data, size);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  if (fd_fails("writev", fd)) return -1;
  static auto fn = real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  return fn(fd, iov, count);
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  if (fd_fails("pwrite", fd)) return -1;
  static auto fn = real<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  return fn(fd, data, size, offset);
}

ssize_t pwrite64(int fd, const void* data, size_t size, off64_t offset) {
  if (fd_fails("pwrite", fd)) return -1;
  static auto fn = real<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  return fn(fd, data, size, offset);
}

int fsync(int fd) {
  if (fd_fails("fsync", fd)) return -1;
  static auto fn = real<int (*)(int)>("fsync");
  return fn(fd);
}

int fdatasync(int fd) {
  if (fd_fails("fdatasync", fd)) return -1;
  static auto fn = real<int (*)(int)>("fdatasync");
  return fn(fd);
}

ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  if (fd_fails("sendfile", out_fd)) return -1;
  static auto fn = real<ssize_t (*)(int, int, off_t*, size_t)>("sendfile");
  return fn(out_fd, in_fd, offset, count);
}

ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) {
  if (fd_fails("sendfile", out_fd)) return -1;
  static auto fn = real<ssize_t (*)(int, int, off64_t*, size_t)>("sendfile64");
  return fn(out_fd, in_fd, offset, count);
}

ssize_t copy_file_range(int in_fd, off64_t* in_offset, int out_fd, off64_t* out_offset,
                        size_t count, unsigned int flags) {
  if (fd_fails("copy_file_range", out_fd)) return -1;
  static auto fn =
      real<ssize_t (*)(int, off64_t*, int, off64_t*, size_t, unsigned int)>("copy_file_range");
  return fn(in_fd, in_offset, out_fd, out_offset, count, flags);
}

int mkdir(const char* path, mode_t mode) {
  if (fails("mkdir", absolute(AT_FDCWD, path))) return -1;
  static auto fn = real<int (*)(const char*, mode_t)>("mkdir");
  return fn(path, mode);
}

int mkdirat(int dirfd, const char* path, mode_t mode) {
  if (fails("mkdir", absolute(dirfd, path))) return -1;
  static auto fn = real<int (*)(int, const char*, mode_t)>("mkdirat");
  return fn(dirfd, path, mode);
}

int rename(const char* from, const char* to) {
  if (fails("rename", absolute(AT_FDCWD, to))) return -1;
  static auto fn = real<int (*)(const char*, const char*)>("rename");
  return fn(from, to);
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  if (fails("rename", absolute(to_dir, to))) return -1;
  static auto fn = real<int (*)(int, const char*, int, const char*)>("renameat");
  return fn(from_dir, from, to_dir, to);
}

int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned int flags) {
  if (fails("rename", absolute(to_dir, to))) return -1;
  static auto fn = real<int (*)(int, const char*, int, const char*, unsigned int)>("renameat2");
  return fn(from_dir, from, to_dir, to, flags);
}

}  // extern "C"
