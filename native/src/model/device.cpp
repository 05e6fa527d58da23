// --device parsing: auto|cpu|cuda|cuda:N, checked against what LibTorch can reach.
#include "hc/native/device.hpp"

#include <ATen/Context.h>
#include <malloc.h>

#include <algorithm>
#include <cctype>

namespace hc::native {

hc::Result<at::Device> parse_device(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name == "auto") {
    return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  }
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA()) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            name +
                                ": no CUDA device is available (this LibTorch has no CUDA "
                                "support or the machine has no GPU); use the CPU or auto");
    }
    int index = 0;
    if (name.size() > 5) {
      const std::string digits = name.substr(5);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(),
                       [](unsigned char c) { return std::isdigit(c); })) {
        return hc::make_error(hc::ErrorCode::InvalidArgument, name + ": expected cuda:N");
      }
      index = std::stoi(digits);
    }
    return at::Device(at::kCUDA, static_cast<at::DeviceIndex>(index));
  }
  return hc::make_error(hc::ErrorCode::InvalidArgument,
                        name + ": expected auto, cpu, cuda or cuda:N");
}

std::string device_text(at::Device device) {
  return device.str();
}

void tune_allocator_for_tensors() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace hc::native
