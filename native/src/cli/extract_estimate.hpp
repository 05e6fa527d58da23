// The --estimate mode of `hodgecover extract` (extract_estimate.cpp).
#pragma once

#include <cstddef>
#include <string>

#include "hc/native/estimate.hpp"

namespace hc::native {

struct EstimateArgs {
  std::string model, device = "auto", compute_dtype = "auto";
  std::size_t tokens = 8192, seq_len = 0;
  BarrierKind barrier = BarrierKind::KlLens;
  int max_triangles = 4096, processes = 1;
  double candidate_quantile = 0.75;
  LensSupportOptions lens;
  bool json = false;
};

// Prints the estimate; exit code. Throws CommandFailure for a bad config or device name.
int run_extract_estimate(const EstimateArgs& args);

}  // namespace hc::native
