// Gate-mass correction of a pruned or merged checkpoint (docs/METHOD.md §gate correction): for
// routers that do not renormalise the selected experts' weights, removing experts shrinks the
// softmax denominator and inflates every survivor's gate; a learning-free factor folded into
// the survivors' down projections restores the original expected gate mass.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hc/native/checkpoint.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/plan.hpp"
#include "hc/result.hpp"
#include "hc/stats_file.hpp"

namespace hc::native {

enum class GateCorrection {
  Auto,    // where the router does not renormalise: Linear, or Mass with Wanda; else Off
  Off,     // nothing scaled: pruning equals masking the dropped experts' logits
  Linear,  // per layer: c = sum over kept experts of the mean router probability (softmax only)
  Mass,    // exact on the router sample: the kept layer's expected gate mass equals the
           // original's (per layer when pruning, per merged expert when merging)
};
const char* gate_correction_name(GateCorrection mode);  // "auto", "off", "linear", "mass"
// InvalidArgument naming the accepted values.
hc::Result<GateCorrection> parse_gate_correction(const std::string& name);

struct GateFactors {
  GateCorrection requested = GateCorrection::Auto;
  GateCorrection applied = GateCorrection::Off;  // never Auto
  std::string reason;                            // why `applied` was chosen
  // Per MoE layer, one factor per original expert id (1 for dropped experts): what the kept
  // expert's down projection (and its bias) is multiplied by.
  std::map<int, std::vector<double>> factors;

  double factor(int layer, int expert) const;  // 1 when absent
};

// Resolves `requested` for the model (Auto also by the Wanda share `wanda` applied with it)
// and computes the factors of `plan` (merge: the plan's merge groups). Auto never fails: without
// the statistics it needs it applies nothing and says why in `reason`. An explicit Linear or Mass
// without its statistics (expert_router_prob, router_logit_sample), or Linear on sigmoid routing,
// is an InvalidArgument error.
hc::Result<GateFactors> gate_correction_factors(GateCorrection requested, const MoeModelSpec& spec,
                                                const Checkpoint& checkpoint, const hc::Plan& plan,
                                                bool merge, const hc::StatsFile* stats,
                                                double wanda = 0.0);

// The sidecar `hodgecover_gate_correction.json` (docs/FORMAT.md): mode, reason, and per layer
// the kept experts' original ids and factors in the checkpoint's order.
nlohmann::json gate_factors_json(const GateFactors& factors, const hc::Plan& plan);

}  // namespace hc::native
