// The LibTorch error boundary: every exception from LibTorch or the forward pass becomes an
// hc::Error with the right category (out of memory and device failures apart from bad input).
#include <c10/util/Exception.h>

#include <boost/test/unit_test.hpp>
#include <new>
#include <stdexcept>
#include <string>

#include "hc/native/torch_errors.hpp"

using namespace hc::native;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(torch_errors)

BOOST_AUTO_TEST_CASE(out_of_device_memory_is_its_own_category) {
  auto result = guard_torch("layer 3", []() -> int {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 2.00 GiB");
    return 0;
  });
  BOOST_REQUIRE(!result.ok());
  BOOST_CHECK(result.error().code == hc::ErrorCode::DeviceOutOfMemory);
  BOOST_CHECK(has(result.error().message, "layer 3: out of device memory"));
  BOOST_CHECK(has(result.error().message, "lower the number of tokens"));
}

BOOST_AUTO_TEST_CASE(cuda_errors_are_device_failures_other_errors_keep_the_fallback) {
  auto device = guard_torch("eval", []() -> int {
    TORCH_CHECK(false, "CUDA error: an illegal memory access was encountered");
    return 0;
  });
  BOOST_REQUIRE(!device.ok());
  BOOST_CHECK(device.error().code == hc::ErrorCode::DeviceFailure);

  auto shape = guard_torch("eval", []() -> int {
    TORCH_CHECK(false, "shape '[2, 3]' is invalid for input of size 5");
    return 0;
  });
  BOOST_REQUIRE(!shape.ok());
  BOOST_CHECK(shape.error().code == hc::ErrorCode::Malformed);
  BOOST_CHECK(has(shape.error().message, "eval: LibTorch error: shape"));

  auto training = guard_torch(
      "training failed", []() -> int { throw std::runtime_error("diverged"); },
      hc::ErrorCode::NumericalFailure);
  BOOST_REQUIRE(!training.ok());
  BOOST_CHECK(training.error().code == hc::ErrorCode::NumericalFailure);
  BOOST_CHECK_EQUAL(training.error().message, "training failed: diverged");
}

BOOST_AUTO_TEST_CASE(forward_failures_pass_unchanged_and_host_memory_is_out_of_memory) {
  auto forward = guard_torch("ignored", []() -> int {
    throw detail::ForwardFailure{hc::make_error(hc::ErrorCode::Corrupt, "w.safetensors: NaN")};
  });
  BOOST_REQUIRE(!forward.ok());
  BOOST_CHECK(forward.error().code == hc::ErrorCode::Corrupt);
  BOOST_CHECK_EQUAL(forward.error().message, "w.safetensors: NaN");

  auto host = guard_torch("extract", []() -> int { throw std::bad_alloc(); });
  BOOST_REQUIRE(!host.ok());
  BOOST_CHECK(host.error().code == hc::ErrorCode::DeviceOutOfMemory);

  auto fine = guard_torch("extract", [] { return 7; });
  BOOST_REQUIRE(fine.ok());
  BOOST_CHECK_EQUAL(*fine, 7);
}

BOOST_AUTO_TEST_SUITE_END()
