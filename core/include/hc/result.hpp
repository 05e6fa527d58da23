// hc::Result<T>: value-or-error return type used by every fallible core function.
// Shaped like std::expected (Emscripten 3.1.6's libc++ has no <expected>); core never throws.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace hc {

// Error categories a user can act on. The CLI maps them to exit codes (see native/).
enum class ErrorCode {
  NotStatsFile,        // valid container but not a hodgecover.stats file (wrong/missing format)
  UnsupportedVersion,  // format_version with a newer MAJOR (or unparsable version)
  Malformed,           // container structure broken: header, JSON, offsets, dtypes, shapes
  Corrupt,             // structure fine but content wrong: checksum, NaN, out-of-range index
  InvalidArgument,     // caller passed a bad option (tau, keep, method, ...)
  NumericalFailure,    // a solver did not reach its tolerance
  WriteFailed,         // an output file or directory could not be created or written
  InputUnreadable,     // an input file or directory is missing, a directory, or cannot be read
  DeviceOutOfMemory,   // the accelerator ran out of memory (lower tokens, batch or length)
  DeviceFailure,       // the accelerator failed: device lost, driver or kernel error
  NonFinite,           // NaN or Inf appeared in the model's activations or its statistics
  PeerFailed,          // another process of a distributed run failed or could not be reached
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_v));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(m_v);
  }

 private:
  std::variant<T, Error> m_v;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace hc

// Propagate an error from an expression returning Result<...>.
#define HC_TRY_STATUS(expr)                                  \
  do {                                                       \
    auto hc_try_result_ = (expr);                            \
    if (!hc_try_result_.ok()) return hc_try_result_.error(); \
  } while (0)
