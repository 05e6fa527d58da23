// The --device switch of the LibTorch commands: auto (CUDA when this build and machine have
// it, else CPU), cpu, cuda or cuda:N.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "hc/result.hpp"

namespace hc::native {

// InvalidArgument for an unknown name or for cuda on a build/machine without CUDA.
hc::Result<at::Device> parse_device(const std::string& name);

// Keeps glibc from handing large freed tensor buffers back to the kernel after every op
// (mmap threshold 64 MiB, trim threshold 512 MiB): the many same-sized [rows, vocab]
// temporaries of barrier scoring otherwise spend most of their time in page faults.
void tune_allocator_for_tensors();

// "cpu", "cuda:0" for reports.
std::string device_text(at::Device device);

}  // namespace hc::native
