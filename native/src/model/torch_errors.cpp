// Maps exceptions from LibTorch and the forward pass to hc::Error (see torch_errors.hpp).
#include "hc/native/torch_errors.hpp"

#include <c10/util/Exception.h>

#include <new>
#include <string_view>

namespace hc::native {
namespace {

// LibTorch messages can run to many lines (tracebacks); the first line says what happened.
std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

bool mentions_device(std::string_view text) {
  for (std::string_view word :
       {"CUDA", "cuda", "cuDNN", "cublas", "CUBLAS", "NCCL", "device-side"}) {
    if (text.find(word) != std::string_view::npos) return true;
  }
  return false;
}

hc::Error out_of_device_memory(const std::string& prefix, const std::string& what) {
  return hc::make_error(hc::ErrorCode::DeviceOutOfMemory,
                        prefix + "out of device memory (" + what +
                            "); lower the number of tokens, the sequence length or the "
                            "triangle count, or run on the CPU");
}

}  // namespace

hc::Error error_from_exception(std::exception_ptr exception, const std::string& context,
                               hc::ErrorCode fallback) {
  const std::string prefix = context.empty() ? std::string() : context + ": ";
  try {
    std::rethrow_exception(exception);
  } catch (const detail::ForwardFailure& failure) {
    return failure.error;
  } catch (const c10::OutOfMemoryError& e) {
    return out_of_device_memory(prefix, first_line(e.what_without_backtrace()));
  } catch (const c10::Error& e) {
    const std::string what = first_line(e.what_without_backtrace());
    if (what.find("out of memory") != std::string::npos) {
      return out_of_device_memory(prefix, what);
    }
    if (mentions_device(what)) {
      return hc::make_error(hc::ErrorCode::DeviceFailure, prefix + "device failure: " + what);
    }
    return hc::make_error(fallback, prefix + "LibTorch error: " + what);
  } catch (const std::bad_alloc&) {
    return hc::make_error(hc::ErrorCode::DeviceOutOfMemory,
                          prefix +
                              "out of memory; lower the number of tokens or the sequence "
                              "length");
  } catch (const std::exception& e) {
    return hc::make_error(fallback, prefix + first_line(e.what()));
  } catch (...) {
    return hc::make_error(fallback, prefix + "unknown exception");
  }
}

}  // namespace hc::native
