// Statistics file `hodgecover.stats` 1.1 (docs/FORMAT.md): in-memory model, reader and writer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hc/result.hpp"

namespace hc {

inline constexpr const char* kStatsFormat = "hodgecover.stats";
inline constexpr int kStatsMajor = 1;
inline constexpr int kStatsMinor = 3;
// Largest router sample (rows) the reader accepts per layer.
inline constexpr std::size_t kStatsMaxRouterSample = 1u << 16;
// Largest expert count per layer the reader accepts. Released MoE models have at most a few
// hundred experts; some per-layer work is dense in E (e.g. the gradient solve on an incomplete
// graph), so a cap keeps a tiny malicious file from demanding gigabytes.
inline constexpr int kStatsMaxExperts = 4096;

// Per-layer statistics of one MoE layer with E experts.
struct LayerStats {
  int layer = 0;                                       // transformer layer index L
  int experts = 0;                                     // E
  std::vector<float> frequency;                        // [E] expert_frequency
  std::vector<float> gate_mass;                        // [E] expert_gate_mass
  std::vector<float> reap;                             // [E] expert_reap
  std::vector<float> ean;                              // [E] expert_ean
  std::vector<std::array<std::int32_t, 2>> edges;      // [M,2] i<j
  std::vector<float> edge_barrier;                     // [M]  >= 0
  std::vector<std::array<std::int32_t, 3>> triangles;  // [T,3] i<j<k
  std::vector<float> triangle_barrier;                 // [T]  >= 0
  // Optional Wanda norms, row-major: input_sqnorm is E x hidden, inner_sqnorm is E x inner.
  std::vector<float> input_sqnorm;
  std::size_t input_sqnorm_cols = 0;
  std::vector<float> inner_sqnorm;
  std::size_t inner_sqnorm_cols = 0;
  // Optional (format 1.1), for the gate-mass correction and the leave-one-out baseline:
  std::vector<float> router_prob;    // [E] mean full router score p_e(x) over all tokens
  std::vector<float> router_sample;  // [N, E] row-major router logits of N sampled tokens
  std::size_t router_sample_rows = 0;
  std::vector<float> loo;  // [E] leave-one-out barrier (expert's logit at -inf), >= 0
  // Optional (format 1.3): [E, E] row-major directed substitution barriers d(i -> j), expert i's
  // output replaced by expert j's on i's routed tokens (same gate, same barrier kind as the
  // pairs), >= 0, zero on the diagonal.
  std::vector<float> substitution;

  // True when the layer carries any tensor that format 1.1 added.
  bool has_v1_1_tensors() const {
    return !router_prob.empty() || router_sample_rows > 0 || !loo.empty();
  }
  float substitution_barrier(int from, int to) const {
    return substitution[static_cast<std::size_t>(from) * static_cast<std::size_t>(experts) +
                        static_cast<std::size_t>(to)];
  }
};

struct StatsFile {
  // Every __metadata__ entry as read (or to be written), including the ones below.
  std::map<std::string, std::string> metadata;
  // Parsed convenience copies of common metadata (0 / empty when absent).
  std::string model;
  std::string family;
  int num_experts = 0;
  int top_k = 0;
  int hidden_size = 0;
  int moe_intermediate_size = 0;
  std::uint64_t tokens = 0;
  std::string barrier;
  int version_major = kStatsMajor;
  int version_minor = kStatsMinor;
  std::vector<LayerStats> layers;  // ascending by layer index (order of `moe_layers`)

  const LayerStats* find_layer(int layer) const;
};

// Reads a statistics file from bytes. `source` (a file name or URL) prefixes every message.
// Error codes: Malformed (container, or a `checksum` value not of the form xxh64:<16 hex>),
// NotStatsFile (format key missing or not hodgecover.stats), UnsupportedVersion (newer or older
// MAJOR, and a format_version that is missing or not MAJOR.MINOR), Corrupt (checksum mismatch,
// missing/mis-shaped tensor, index out of range, NaN or negative barrier, metadata numbers that
// do not parse or disagree with the tensors).
// Accepted: F64 for float tensors and I64 for index tensors (narrowed), tensors in any order,
// unknown tensors and keys, a newer MINOR. Layers are those in `moe_layers`, or when it is
// absent every L with a `layers.L.<stats tensor>`. `triangles` and `triangle_barrier` may be
// absent together (T = 0); the writer always writes them.
Result<StatsFile> read_stats(std::span<const std::uint8_t> bytes, const std::string& source);

struct StatsWriteOptions {
  bool checksum = true;  // write `checksum` = xxh64 of the data section
};

// Serialises `stats` as format 1.1 when a layer has a 1.1 tensor, else as 1.0 (so files
// without them stay byte-identical to what earlier versions wrote). Required metadata (format,
// format_version, moe_layers, num_experts, ...) is filled from the struct; other metadata entries
// are kept as they are. The struct fields win over `metadata`: a zero/empty field removes its key
// (num_experts = 0 is derived from the layers when they agree), and a stale `checksum` is never
// copied. Layers are written ascending with a fixed tensor order, so equal structs give identical
// bytes. Fails with InvalidArgument if the struct is inconsistent (wrong vector sizes, bad
// indices).
Result<std::vector<std::uint8_t>> write_stats(const StatsFile& stats,
                                              const StatsWriteOptions& options = {});

// Validates one layer's internal consistency (sizes, index ranges, finite non-negative
// barriers). Used by both reader and writer; message names the offending tensor.
Status validate_layer(const LayerStats& layer);

// xxh64 (seed 0) of bytes, as "xxh64:<16 lowercase hex>".
std::string xxh64_tag(std::span<const std::uint8_t> bytes);

}  // namespace hc
