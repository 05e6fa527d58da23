// `hodgecover apply` (docs/METHOD.md): a plan applied to a checkpoint — kept experts renumbered in
// original order, router rows and biases sliced, merged weights in merge mode, Wanda zeros —
// written as a new checkpoint directory that loads as the same architecture.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "hc/native/gate_correction.hpp"
#include "hc/plan.hpp"
#include "hc/result.hpp"
#include "hc/stats_file.hpp"

namespace hc::native {

enum class ApplyMode { Prune, Merge };

struct ApplyOptions {
  std::filesystem::path model, out;
  ApplyMode mode = ApplyMode::Prune;
  double wanda = 0.0;  // fraction of each surviving expert row zeroed
  // Multiplies every surviving routed expert's output (down projection and its bias) by this
  // factor. A control, not a method: for families that do not renormalise the top-k gates,
  // pruning inflates the survivors' share, and part of what Wanda "gains" there is shrinkage.
  double output_scale = 1.0;
  std::uint64_t shard_bytes = 2ull << 30;  // shard size of the written safetensors
  // Gate-mass correction folded into the survivors' down projections (gate_correction.hpp);
  // Off keeps "pruning = masking the dropped experts" exact.
  GateCorrection gate_correction = GateCorrection::Auto;
};

struct ApplySummary {
  int layers = 0, experts_before = 0, experts_after = 0;
  std::uint64_t parameters_before = 0, parameters_after = 0;  // every tensor's elements
  std::uint64_t wanda_zeros = 0;
  GateFactors gate;  // the correction applied (mode, reason, factors)
};

// Applies `plan` to options.model and writes options.out (a temporary directory renamed at the
// end; the input is never modified), with hodgecover_plan.json, hodgecover_keep.json and
// hodgecover_gate_correction.json beside the weights. `stats` (the file the plan came from)
// supplies routing frequencies for merge mode and the square norms for Wanda; required for those.
// Errors: InvalidArgument for a plan that does not fit the checkpoint (unknown layer, ids out of
// range, duplicates, empty keep set, unequal keep counts, a count not divisible by n_group),
// Malformed for checkpoint problems, WriteFailed for output problems.
hc::Result<ApplySummary> apply_plan(const ApplyOptions& options, const hc::Plan& plan,
                                    const hc::StatsFile* stats);

// The per-layer keep list written beside the checkpoint: {"L": [original expert ids], ...}.
nlohmann::json keep_list_json(const hc::Plan& plan);

}  // namespace hc::native
