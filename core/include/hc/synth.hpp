// Synthetic statistics files with planted structure (clusters of mutually mergeable experts
// and planted irreducible triples), for tests, benchmarks, samples and the default run.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "hc/result.hpp"
#include "hc/stats_file.hpp"

namespace hc {

struct SynthOptions {
  int layers = 4;
  int experts = 16;
  std::uint64_t seed = 0;
  int top_k = 2;
  int max_triangles = 4096;  // stage-1 cap on candidate triangles per layer
  int cluster_size = 4;      // mean size of a cluster of mutually mergeable experts
  int planted_triples = -1;  // per layer; < 0 picks max(1, experts / 16)
  int hidden_size = 0;       // > 0 also writes expert_input_sqnorm [E, hidden]
  int inner_size = 0;        // > 0 also writes expert_inner_sqnorm [E, inner]
};

struct PlantedTriple {
  int layer;
  std::array<int, 3> experts;  // ascending
};

struct SynthResult {
  StatsFile stats;
  std::vector<PlantedTriple> planted;
};

// Deterministic for the same options on every platform. The planted triples are also recorded
// in metadata key `synth_planted` as "L:i-j-k;..." so files carry their ground truth.
Result<SynthResult> synthesize(const SynthOptions& options);

// Parses the `synth_planted` metadata string back (empty when absent or malformed).
std::vector<PlantedTriple> planted_from_metadata(const StatsFile& stats);

// Deterministic 64-bit generator (splitmix64), identical on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next();
  double uniform();                      // [0, 1)
  std::uint64_t below(std::uint64_t n);  // [0, n), n > 0
 private:
  std::uint64_t m_state;
};

}  // namespace hc
