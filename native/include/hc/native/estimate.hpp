// `hodgecover extract --estimate`: the cost of an extraction from config.json alone (FLOPs,
// memory, disk reads and time per stage) before paying for it. Model: docs/DISTRIBUTED.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "hc/native/barriers.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native {

// Sustained throughput of a device for the large products, in FLOP/s.
struct DeviceProfile {
  std::string name;  // "h100", "cpu (measured here)", ...
  double fp32 = 0.0, tf32 = 0.0, bf16 = 0.0, fp64 = 0.0;
  double memory_bytes = 0.0;  // device memory (0: host memory, not checked)
  double bytes_per_s = 0.0;   // sustained memory bandwidth (the KL terms are bandwidth-bound)
  double disk_bytes_per_s = 2e9;
};
// a100, h100, h200, b200: datasheet dense peaks at 60% efficiency. InvalidArgument otherwise.
hc::Result<DeviceProfile> named_device_profile(const std::string& name);

struct EstimateRequest {
  std::size_t tokens = 8192, seq_len = 512;
  BarrierKind barrier = BarrierKind::KlLens;
  ComputeDtype dtype = ComputeDtype::Fp32;
  int max_triangles = 4096;
  double candidate_quantile = 0.75;
  LensSupportOptions lens;  // kl_lens; Auto is resolved against the vocabulary
  int processes = 1;
  double checkpoint_bytes_per_value = 2.0;  // torch_dtype of the checkpoint
};

struct StageCost {
  std::string stage;     // forward, statistics, pairs, triangles
  double flops = 0.0;    // over all processes
  double seconds = 0.0;  // wall time with the request's processes
};

struct ExtractEstimate {
  std::vector<StageCost> stages;
  double seconds = 0.0;            // stages + disk reads, per process (they run in parallel)
  double device_peak_bytes = 0.0;  // per process
  double host_peak_bytes = 0.0;    // per process
  double disk_bytes = 0.0;         // read by each process
  double pair_groups = 0.0, triangle_groups = 0.0;  // per MoE layer
  double merged_token_evaluations = 0.0;            // pairs + triangles, all layers
  int moe_layers = 0;
};

ExtractEstimate estimate_extract(const MoeModelSpec& spec, const EstimateRequest& request,
                                 const DeviceProfile& device);

}  // namespace hc::native
