// Gate-mass correction factors from a statistics file's router sample (or mean router
// probabilities), with the family's routing formula evaluated on the sampled logits in plain
// C++ (apply runs without LibTorch; tests check it against the forward pass's route()).
#include "hc/native/gate_correction.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "hc/merge.hpp"

namespace hc::native {
namespace {

hc::Error invalid(const std::string& message) {
  return hc::make_error(hc::ErrorCode::InvalidArgument, message);
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// Indices of the k largest values, by a stable descending order (lower index wins a tie).
std::vector<int> stable_topk(const std::vector<double>& values, int k) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return values[std::size_t(a)] > values[std::size_t(b)]; });
  order.resize(std::min<std::size_t>(order.size(), std::size_t(k)));
  return order;
}

// Keeps the topk_group groups with the best group score; other experts' values become 0.
void mask_groups(std::vector<double>& values, const std::vector<double>& group_score,
                 int topk_group) {
  const std::size_t per_group = values.size() / group_score.size();
  std::vector<bool> keep(group_score.size(), false);
  for (int g : stable_topk(group_score, topk_group)) keep[std::size_t(g)] = true;
  for (std::size_t e = 0; e < values.size(); ++e) {
    if (!keep[e / per_group]) values[e] = 0.0;
  }
}

struct Slot {
  int expert;
  double gate;
};

// The family's routing (docs/FAMILIES.md, as route() in the forward pass) of one token's
// logits with the experts flagged in `masked` unreachable.
std::vector<Slot> route_row(const MoeModelSpec& spec, const float* logits,
                            const std::vector<double>& correction,
                            const std::vector<bool>& masked) {
  const auto e_count = static_cast<std::size_t>(spec.num_experts);
  std::vector<double> l(e_count);
  for (std::size_t e = 0; e < e_count; ++e) l[e] = masked[e] ? -kInf : double(logits[e]);
  std::vector<Slot> out;
  auto softmax = [&] {
    const double top = *std::max_element(l.begin(), l.end());
    std::vector<double> p(e_count);
    double sum = 0.0;
    for (std::size_t e = 0; e < e_count; ++e) sum += p[e] = std::exp(l[e] - top);
    for (double& v : p) v /= sum;
    return p;
  };
  const int k = spec.top_k;
  switch (spec.routing) {
    case RoutingKind::SoftmaxTopk: {
      const std::vector<double> p = softmax();
      double total = 0.0;
      for (int e : stable_topk(p, k)) {
        out.push_back({e, p[std::size_t(e)]});
        total += p[std::size_t(e)];
      }
      for (Slot& s : out) {
        if (spec.norm_topk_prob) s.gate /= total;
        s.gate *= spec.routed_scaling_factor;
      }
      return out;
    }
    case RoutingKind::GroupLimitedGreedy: {
      const std::vector<double> p = softmax();
      const std::size_t per_group = e_count / std::size_t(spec.n_group);
      std::vector<double> group_max(std::size_t(spec.n_group), -kInf);
      for (std::size_t e = 0; e < e_count; ++e) {
        group_max[e / per_group] = std::max(group_max[e / per_group], p[e]);
      }
      std::vector<double> masked_p = p;
      mask_groups(masked_p, group_max, spec.topk_group);
      for (int e : stable_topk(masked_p, k)) {
        out.push_back({e, p[std::size_t(e)] * spec.routed_scaling_factor});
      }
      return out;
    }
    case RoutingKind::NoauxTc: {
      std::vector<double> s(e_count), choice(e_count);
      for (std::size_t e = 0; e < e_count; ++e) {
        s[e] = 1.0 / (1.0 + std::exp(-l[e]));
        choice[e] = masked[e] ? -kInf : s[e] + (correction.empty() ? 0.0 : correction[e]);
      }
      const std::size_t per_group = e_count / std::size_t(spec.n_group);
      std::vector<double> group_score(std::size_t(spec.n_group));
      for (std::size_t g = 0; g < group_score.size(); ++g) {
        std::vector<double> members(choice.begin() + std::ptrdiff_t(g * per_group),
                                    choice.begin() + std::ptrdiff_t((g + 1) * per_group));
        std::partial_sort(members.begin(),
                          members.begin() + std::min<std::ptrdiff_t>(2, members.size()),
                          members.end(), std::greater<>());
        group_score[g] = members[0] + (members.size() > 1 ? members[1] : 0.0);
      }
      mask_groups(choice, group_score, spec.topk_group);
      double total = 0.0;
      for (int e : stable_topk(choice, k)) {
        out.push_back({e, s[std::size_t(e)]});
        total += s[std::size_t(e)];
      }
      for (Slot& slot : out) {
        if (spec.norm_topk_prob) slot.gate /= total + 1e-20;
        slot.gate *= spec.routed_scaling_factor;
      }
      return out;
    }
    case RoutingKind::TopkSoftmax: {
      const std::vector<int> top = stable_topk(l, k);
      const double best = l[std::size_t(top.front())];
      double sum = 0.0;
      for (int e : top) sum += std::exp(l[std::size_t(e)] - best);
      for (int e : top) out.push_back({e, std::exp(l[std::size_t(e)] - best) / sum});
      return out;
    }
  }
  return out;
}

// Per expert, the summed gate over the sample rows with `masked` experts unreachable.
std::vector<double> sample_gate_mass(const MoeModelSpec& spec, const hc::LayerStats& layer,
                                     const std::vector<double>& correction,
                                     const std::vector<bool>& masked) {
  const auto e_count = static_cast<std::size_t>(spec.num_experts);
  std::vector<double> mass(e_count, 0.0);
  for (std::size_t r = 0; r < layer.router_sample_rows; ++r) {
    for (const Slot& s :
         route_row(spec, layer.router_sample.data() + r * e_count, correction, masked)) {
      mass[std::size_t(s.expert)] += s.gate;
    }
  }
  return mass;
}

// True when every MoE layer of the model has statistics of its expert count with `has`.
template <typename Has>
bool every_layer(const hc::StatsFile* stats, const MoeModelSpec& spec, Has has) {
  if (stats == nullptr) return false;
  for (int layer : spec.moe_layers()) {
    const hc::LayerStats* ls = stats->find_layer(layer);
    if (ls == nullptr || ls->experts != spec.num_experts || !has(*ls)) return false;
  }
  return true;
}

bool has_sample(const hc::StatsFile* stats, const MoeModelSpec& spec) {
  return every_layer(stats, spec, [](const hc::LayerStats& l) { return l.router_sample_rows > 0; });
}

bool has_router_prob(const hc::StatsFile* stats, const MoeModelSpec& spec) {
  return every_layer(stats, spec, [](const hc::LayerStats& l) { return !l.router_prob.empty(); });
}

// What auto means for this model, these statistics and this Wanda share, and why. The choice
// between linear and mass was made on calibration-side text (docs/results.md §5): linear
// alone, mass (the milder factor) when Wanda also shrinks the survivors' outputs.
std::pair<GateCorrection, std::string> resolve_auto(const MoeModelSpec& spec,
                                                    const hc::StatsFile* stats, double wanda) {
  const std::string family = family_model_type(spec.family);
  if (routing_renormalizes(spec)) {
    return {GateCorrection::Off,
            family +
                " renormalises the selected experts' weights: removing experts does not "
                "change their sum"};
  }
  if (spec.routing == RoutingKind::NoauxTc) {
    return {GateCorrection::Off, family +
                                     " scores experts with independent sigmoids: removing experts "
                                     "does not change the survivors' weights"};
  }
  const std::string why = family + " does not renormalise the top-k softmax weights";
  const bool sample = has_sample(stats, spec), prob = has_router_prob(stats, spec);
  if (wanda > 0.0 && sample) {
    return {GateCorrection::Mass, why + "; with Wanda, the expected gate mass is kept (mass)"};
  }
  if (prob) {
    return {GateCorrection::Linear, why + "; the survivors' mean weights are restored (linear)"};
  }
  if (sample) {
    return {GateCorrection::Mass, why + "; the expected gate mass is kept (mass)"};
  }
  return {GateCorrection::Off,
          why +
              ", but no statistics with router samples were given (extract them with this "
              "version and pass --stats); the survivors' gates stay inflated"};
}

}  // namespace

const char* gate_correction_name(GateCorrection mode) {
  switch (mode) {
    case GateCorrection::Auto:
      return "auto";
    case GateCorrection::Off:
      return "off";
    case GateCorrection::Linear:
      return "linear";
    case GateCorrection::Mass:
      return "mass";
  }
  return "unknown";
}

hc::Result<GateCorrection> parse_gate_correction(const std::string& name) {
  for (GateCorrection mode :
       {GateCorrection::Auto, GateCorrection::Off, GateCorrection::Linear, GateCorrection::Mass}) {
    if (name == gate_correction_name(mode)) return mode;
  }
  return invalid(name + ": expected a gate correction of auto, off, linear or mass");
}

double GateFactors::factor(int layer, int expert) const {
  const auto it = factors.find(layer);
  if (it == factors.end() || expert < 0 || std::size_t(expert) >= it->second.size()) return 1.0;
  return it->second[std::size_t(expert)];
}

hc::Result<GateFactors> gate_correction_factors(GateCorrection requested, const MoeModelSpec& spec,
                                                const Checkpoint& checkpoint, const hc::Plan& plan,
                                                bool merge, const hc::StatsFile* stats,
                                                double wanda) {
  GateFactors out;
  out.requested = requested;
  if (requested == GateCorrection::Auto) {
    std::tie(out.applied, out.reason) = resolve_auto(spec, stats, wanda);
  } else {
    out.applied = requested;
    out.reason = "requested";
  }
  if (out.applied == GateCorrection::Off) return out;
  if (out.applied == GateCorrection::Linear) {
    if (spec.routing == RoutingKind::NoauxTc) {
      return invalid("--gate-correction linear needs softmax router scores; " +
                     std::string(family_model_type(spec.family)) + " routes with sigmoids");
    }
    if (!has_router_prob(stats, spec)) {
      return invalid(
          "--gate-correction linear needs statistics with expert_router_prob for "
          "every MoE layer (extract them with this version and pass --stats)");
    }
  }
  if (out.applied == GateCorrection::Mass && !has_sample(stats, spec)) {
    return invalid(
        "--gate-correction mass needs statistics with a router_logit_sample for every "
        "MoE layer (extract them with this version and pass --stats)");
  }
  const auto e_count = static_cast<std::size_t>(spec.num_experts);
  for (const auto& [layer, lp] : plan.layers) {
    const hc::LayerStats& ls = *stats->find_layer(layer);
    std::vector<bool> dropped(e_count, true);
    for (int e : lp.keep) dropped[std::size_t(e)] = false;
    std::vector<double> factors(e_count, 1.0);
    if (out.applied == GateCorrection::Linear) {
      double kept_share = 0.0;
      for (int e : lp.keep) kept_share += ls.router_prob[std::size_t(e)];
      for (int e : lp.keep) factors[std::size_t(e)] = kept_share > 0.0 ? kept_share : 1.0;
      out.factors[layer] = std::move(factors);
      continue;
    }
    std::vector<double> correction;
    const LayerSpec& layer_spec = spec.layers[std::size_t(layer)];
    if (!layer_spec.correction_bias.empty()) {
      auto bias = checkpoint.read_f32(layer_spec.correction_bias);
      if (!bias.ok()) return bias.error();
      correction.assign(bias->begin(), bias->end());
    }
    const std::vector<double> before =
        sample_gate_mass(spec, ls, correction, std::vector<bool>(e_count, false));
    const std::vector<double> after = sample_gate_mass(spec, ls, correction, dropped);
    const double total_before = std::accumulate(before.begin(), before.end(), 0.0);
    const double total_after = std::accumulate(after.begin(), after.end(), 0.0);
    const double layer_factor = total_after > 0.0 ? total_before / total_after : 1.0;
    for (int e : lp.keep) {
      double f = layer_factor;
      if (merge) {
        // The merged expert stands for its members: their original mass is its target.
        double target = 0.0;
        for (int m : hc::merge_group(lp, e)) target += before[std::size_t(m)];
        const double now = after[std::size_t(e)];
        // Too little sampled mass to measure the survivor alone: the layer's factor.
        if (now > 1e-3 * total_after / double(lp.keep.size())) f = target / now;
      }
      factors[std::size_t(e)] = f;
    }
    out.factors[layer] = std::move(factors);
  }
  return out;
}

nlohmann::json gate_factors_json(const GateFactors& factors, const hc::Plan& plan) {
  nlohmann::json layers = nlohmann::json::object();
  if (factors.applied != GateCorrection::Off) {
    for (const auto& [layer, lp] : plan.layers) {
      std::vector<double> kept;
      for (int e : lp.keep) kept.push_back(factors.factor(layer, e));
      layers[std::to_string(layer)] = {{"experts", lp.keep}, {"factors", kept}};
    }
  }
  return {{"format", "hodgecover.gate_correction"},
          {"version", 1},
          {"requested", gate_correction_name(factors.requested)},
          {"mode", gate_correction_name(factors.applied)},
          {"reason", factors.reason},
          {"layers", layers}};
}

}  // namespace hc::native
