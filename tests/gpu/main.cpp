// Entry point of the GPU suite: exits 77 (CTest's SKIP_RETURN_CODE) when LibTorch sees no CUDA
// device, so the summary shows the suite as skipped rather than passed.
#define BOOST_TEST_MODULE hodgecover_gpu
#define BOOST_TEST_NO_MAIN
#include <ATen/Context.h>

#include <boost/test/included/unit_test.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (!at::hasCUDA()) {
    std::cout << "skipped: no CUDA device (this LibTorch has no CUDA, or no GPU is present)\n";
    return 77;
  }
  return boost::unit_test::unit_test_main(&init_unit_test_suite, argc, argv);
}
