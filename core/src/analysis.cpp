// Whole-file analysis (decompose and select every layer) and the JSON reports of docs/CLI.md.
#include "hc/analysis.hpp"

#include <string>

namespace hc {

namespace {

// analyze_layer, cold (previous == nullptr) or warm-started from an earlier analysis.
Result<LayerAnalysis> analyze(const LayerStats& layer, const ComplexOptions& options,
                              const HodgeOptions& hodge_options, const LayerAnalysis* previous) {
  auto complex = build_complex(layer, options);
  if (!complex) {
    return make_error(complex.error().code,
                      "layer " + std::to_string(layer.layer) + ": " + complex.error().message);
  }
  auto hodge = previous
                   ? hodge_decompose(*complex, hodge_options, previous->complex, previous->hodge)
                   : hodge_decompose(*complex, hodge_options);
  if (!hodge) {
    return make_error(hodge.error().code,
                      "layer " + std::to_string(layer.layer) + ": " + hodge.error().message);
  }
  LayerAnalysis out;
  out.layer = layer.layer;
  out.complex = std::move(complex).value();
  out.hodge = std::move(hodge).value();
  // The flow does not depend on τ: a re-analysis of the same layer keeps the share it had.
  if (previous && previous->flow_gradient_share) {
    out.flow_gradient_share = previous->flow_gradient_share;
  } else if (method_supported(layer, Method::HodgeRank)) {  // substitution barriers, E x E
    out.flow_gradient_share = substitution_flow(layer).gradient_share();
  }
  return out;
}

}  // namespace

Result<LayerAnalysis> analyze_layer(const LayerStats& layer, const ComplexOptions& options,
                                    const HodgeOptions& hodge_options) {
  return analyze(layer, options, hodge_options, nullptr);
}

Result<LayerAnalysis> reanalyze_layer(const LayerStats& layer, const ComplexOptions& options,
                                      const LayerAnalysis& previous,
                                      const HodgeOptions& hodge_options) {
  // Another layer's analysis would only be a poor start, but say so by starting cold.
  return analyze(layer, options, hodge_options,
                 previous.layer == layer.layer ? &previous : nullptr);
}

Status ensure_expected(LayerAnalysis& a) {
  if (a.expected) return Ok{};
  auto expected = expected_hodge_energies(a.complex);
  if (!expected) {
    return make_error(expected.error().code,
                      "layer " + std::to_string(a.layer) + ": " + expected.error().message);
  }
  a.expected = std::move(expected).value();
  return Ok{};
}

Result<std::vector<LayerAnalysis>> analyze_file(const StatsFile& stats,
                                                const ComplexOptions& options,
                                                std::optional<int> only_layer) {
  std::vector<LayerAnalysis> out;
  if (only_layer && !stats.find_layer(*only_layer)) {
    std::string available;
    for (const LayerStats& l : stats.layers) {
      if (!available.empty()) available += ',';
      available += std::to_string(l.layer);
    }
    return make_error(ErrorCode::InvalidArgument, "no MoE layer " + std::to_string(*only_layer) +
                                                      " in the file (layers: " + available + ")");
  }
  for (const LayerStats& layer : stats.layers) {
    if (only_layer && layer.layer != *only_layer) continue;
    auto analysis = analyze_layer(layer, options);
    if (!analysis) return analysis.error();
    out.push_back(std::move(analysis).value());
  }
  return out;
}

namespace {

nlohmann::json vector_json(const Eigen::VectorXd& v) {
  nlohmann::json out = nlohmann::json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) out.push_back(v[i]);
  return out;
}

}  // namespace

nlohmann::json decomposition_json(const LayerAnalysis& a) {
  std::optional<ExpectedEnergies> computed;  // when the analysis has none yet
  if (!a.expected) {
    auto e = expected_hodge_energies(a.complex);
    computed = e ? std::move(e).value() : ExpectedEnergies{};
  }
  const ExpectedEnergies& expected = a.expected ? *a.expected : *computed;
  nlohmann::json edges = nlohmann::json::array();
  for (const auto& e : a.complex.edges) edges.push_back({e[0], e[1]});
  nlohmann::json filled = nlohmann::json::array();
  for (const auto& t : a.complex.filled) filled.push_back({t[0], t[1], t[2]});
  nlohmann::json out = {
      {"layer", a.layer},
      {"experts", a.complex.vertex_count},
      {"tau", a.complex.tau},
      {"edges", std::move(edges)},
      {"filled_triangles", std::move(filled)},
      {"betti", {a.hodge.betti[0], a.hodge.betti[1], a.hodge.betti[2]}},
      {"signal", vector_json(a.complex.signal)},
      {"gradient", vector_json(a.hodge.gradient)},
      {"curl", vector_json(a.hodge.curl)},
      {"harmonic", vector_json(a.hodge.harmonic)},
      {"energy",
       {{"gradient", a.hodge.energy.gradient},
        {"curl", a.hodge.energy.curl},
        {"harmonic", a.hodge.energy.harmonic}}},
      {"expected",
       {{"gradient", vector_json(expected.gradient)},
        {"curl", vector_json(expected.curl)},
        {"harmonic", vector_json(expected.harmonic)},
        {"sampled", expected.sampled}}},
      {"expected_energy",
       {{"gradient", expected.gradient.sum()},
        {"curl", expected.curl.sum()},
        {"harmonic", expected.harmonic.sum()}}},
  };
  if (a.flow_gradient_share)
    out["substitution_flow"] = {{"gradient_share", *a.flow_gradient_share}};
  return out;
}

Result<SelectionOutcome> select_file(const StatsFile& stats,
                                     const std::vector<LayerAnalysis>& analyses,
                                     const SelectionOptions& selection,
                                     const ComplexOptions& complex) {
  // The triplet excess must be measured against the same rule that filled the triangles.
  SelectionOptions options = selection;
  options.fill = complex.fill;
  SelectionOutcome out;
  out.plan.method = method_name(options.method);
  out.plan.params = selection_params(options, complex);
  for (const LayerAnalysis& a : analyses) {
    const LayerStats* layer = stats.find_layer(a.layer);
    if (!layer) return make_error(ErrorCode::InvalidArgument, "analysis of an unknown layer");
    const CoverageTargets targets = hodgecover_targets(*layer, a.complex, a.hodge, options,
                                                       a.expected ? &*a.expected : nullptr);
    auto plan = select_layer(*layer, a.complex, a.hodge, options, &targets);
    if (!plan) return plan.error();  // select_layer's messages already name the layer
    out.retained[a.layer] =
        retained_masses(a.complex, a.hodge, targets, plan->keep, options.cover_tri);
    out.plan.layers[a.layer] = std::move(plan).value();
  }
  return out;
}

nlohmann::json selection_json(const SelectionOutcome& outcome) {
  nlohmann::json out = plan_to_json(outcome.plan);
  nlohmann::json retained = nlohmann::json::object();
  for (const auto& [layer, r] : outcome.retained) {
    retained[std::to_string(layer)] = {{"gradient", r.gradient},
                                       {"curl", r.curl},
                                       {"harmonic", r.harmonic},
                                       {"triangle", r.triangle}};
  }
  out["retained"] = std::move(retained);
  return out;
}

}  // namespace hc
