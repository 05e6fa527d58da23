// The one boundary where exceptions become errors in the LibTorch rooms (model, extract, eval,
// train): LibTorch's own (c10::Error, out of memory), std ones, and ForwardFailure, which
// deep tensor code throws to unwind. Public functions of those rooms return hc::Result; they
// run their bodies through guard_torch, so no exception leaves them.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "hc/result.hpp"

namespace hc::native {

namespace detail {
// Thrown inside the LibTorch rooms only (never across a public function) to stop deep tensor
// code with an error; guard_torch turns it back into that error.
struct ForwardFailure {
  hc::Error error;
};
}  // namespace detail

// The error for an exception caught while doing `context` ("barriers: layer 3", a path):
//   ForwardFailure            -> its error, unchanged
//   out of device memory      -> DeviceOutOfMemory, saying to lower the work or use the CPU
//   other CUDA/device errors  -> DeviceFailure
//   out of host memory        -> DeviceOutOfMemory (the same remedy)
//   any other exception       -> `fallback` ("<context>: <what>")
hc::Error error_from_exception(std::exception_ptr exception, const std::string& context,
                               hc::ErrorCode fallback = hc::ErrorCode::Malformed);

namespace detail {
template <typename T>
struct AsResult {
  using type = hc::Result<T>;
};
template <typename T>
struct AsResult<hc::Result<T>> {
  using type = hc::Result<T>;
};
}  // namespace detail

// Runs `body` (returning a value or an hc::Result), turning any exception into an error.
template <typename F>
auto guard_torch(const std::string& context, F&& body,
                 hc::ErrorCode fallback = hc::ErrorCode::Malformed) ->
    typename detail::AsResult<std::invoke_result_t<F&>>::type {
  try {
    return body();
  } catch (...) {
    return error_from_exception(std::current_exception(), context, fallback);
  }
}

}  // namespace hc::native
