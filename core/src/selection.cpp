// Selection front end: option names, budgets, HodgeCover/pairwise coverage targets
// (docs/METHOD.md), the coverage objective, retained Hodge masses and the per-layer dispatch of
// every method.
#include "hc/selection.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "selection_detail.hpp"

namespace hc {
namespace {

// Harmonic (or component) energy below this share of the layer's total is solver noise: a
// decomposition is only exact to ~1e-8 in norm, so ranking such edges would be ranking noise.
constexpr double kNumericalZero = 1e-14;

struct Ranked {
  int index;
  double value;
};

bool ranks_before(const Ranked& a, const Ranked& b) {
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

// Smallest prefix of the positive items, largest first (ties: lower index), whose sum reaches
// `rho` of the total. A complete layer has tens of thousands of edges and the prefix is often
// a small part of them, so the prefix is located by repeated partitioning and only it is
// sorted. The result depends only on the ranking (a total order), the total taken in index
// order and the sums taken in rank order, never on how the partitioning arranged things, so
// it is the same on every standard library.
std::vector<Ranked> critical_prefix(std::vector<Ranked> items, double rho) {
  std::erase_if(items, [](const Ranked& r) { return !(r.value > 0.0) || !std::isfinite(r.value); });
  double total = 0.0;  // items arrive in index order, so this sum is reproducible
  for (const Ranked& r : items) total += r.value;
  if (rho >= 1.0) {
    std::sort(items.begin(), items.end(), ranks_before);
    return items;
  }
  const double target = std::max(rho, 0.0) * total;

  // Narrow [lo, hi) so that the prefix most likely ends in it; items before lo outrank the rest.
  auto at = [&](std::size_t i) { return items.begin() + static_cast<std::ptrdiff_t>(i); };
  std::size_t lo = 0, hi = items.size();
  double above = 0.0;
  while (hi - lo > 64) {
    const std::size_t mid = lo + (hi - lo) / 2;
    std::nth_element(at(lo), at(mid), at(hi), ranks_before);
    double mass = 0.0;
    for (std::size_t i = lo; i < mid; ++i) mass += items[i].value;
    if (above + mass >= target) {
      hi = mid;
    } else {
      above += mass;
      lo = mid;
    }
  }
  // Sort the candidates and take the exact prefix; rounding in the estimate can leave it short
  // of the target, in which case the rest is sorted too.
  std::size_t sorted = hi;
  std::sort(at(0), at(sorted), ranks_before);
  std::size_t n = 0;
  double sum = 0.0;
  while (n < items.size() && sum < target) {
    if (n == sorted) {
      std::sort(at(sorted), items.end(), ranks_before);
      sorted = items.size();
    }
    sum += items[n++].value;
  }
  items.resize(n);
  return items;
}

std::vector<double> normalised(const std::vector<Ranked>& items) {
  double sum = 0.0;
  for (const Ranked& r : items) sum += r.value;
  std::vector<double> w;
  w.reserve(items.size());
  for (const Ranked& r : items) w.push_back(r.value / sum);
  return w;
}

std::vector<double> vertex_weights(const LayerStats& layer, VertexScore score) {
  const int n = std::max(0, layer.experts);
  std::vector<double> v(n, 0.0);
  if (score == VertexScore::None) return v;
  const std::vector<float>& src = score == VertexScore::Reap ? layer.reap : layer.frequency;
  double sum = 0.0;
  for (int i = 0; i < n && i < static_cast<int>(src.size()); ++i) {
    v[i] = std::isfinite(src[i]) ? std::max(0.0, static_cast<double>(src[i])) : 0.0;
    sum += v[i];
  }
  if (sum > 0.0)
    for (double& x : v) x /= sum;
  return v;
}

// Critical edges among `items` (complex edge index, energy), as ascending expert-id pairs.
void add_edge_targets(const Complex& complex, std::vector<Ranked> items, double rho,
                      CoverageTargets& targets) {
  const std::vector<Ranked> chosen = critical_prefix(std::move(items), rho);
  targets.edge_weight = normalised(chosen);
  targets.edges.reserve(chosen.size());
  for (const Ranked& r : chosen) {
    const auto& edge = complex.edges[r.index];
    targets.edges.push_back({std::min(edge[0], edge[1]), std::max(edge[0], edge[1])});
  }
}

std::array<int, 3> sorted_triangle(const std::array<std::int32_t, 3>& t) {
  std::array<int, 3> v = {t[0], t[1], t[2]};
  std::sort(v.begin(), v.end());
  return v;
}

const char* const kMethodNames[] = {"hodgecover", "frequency", "reap",   "ean",        "loo",
                                    "random",     "pairwise",  "hcsmoe", "substitute", "hodgerank"};

// loo, substitute and hodgerank rank on data a file may lack; `subject` says where it is missing.
Error missing_data(Method m, const std::string& subject) {
  return make_error(
      ErrorCode::InvalidArgument,
      std::string(kMethodNames[static_cast<int>(m)]) + ": " + subject +
          (m == Method::Loo ? " no leave-one-out scores (tensor expert_loo, format 1.1)"
                            : " no directed substitution barriers (tensor substitution_barrier, "
                              "format 1.3)") +
          "; extract them again with this version of hodgecover");
}

bool has_data(const LayerStats& layer, Method m) {
  if (m == Method::Loo) return !layer.loo.empty();
  if (m == Method::Substitute || m == Method::HodgeRank)
    return layer.experts > 0 &&
           layer.substitution.size() ==
               static_cast<std::size_t>(layer.experts) * static_cast<std::size_t>(layer.experts);
  return true;
}

}  // namespace

const char* method_name(Method m) {
  return kMethodNames[static_cast<int>(m)];
}

const std::vector<Method>& all_methods() {
  static const std::vector<Method> methods = {
      Method::HodgeCover, Method::Frequency, Method::Reap,   Method::Ean,        Method::Loo,
      Method::Random,     Method::Pairwise,  Method::HcSmoe, Method::Substitute, Method::HodgeRank};
  return methods;
}

Status method_supported(const LayerStats& layer, Method m) {
  if (!has_data(layer, m)) return missing_data(m, "the statistics file has");
  return Ok{};
}

Status method_supported(const StatsFile& stats, Method m) {
  std::vector<int> lacking;
  for (const LayerStats& layer : stats.layers)
    if (!method_supported(layer, m)) lacking.push_back(layer.layer);
  if (lacking.empty()) return Ok{};
  if (lacking.size() == stats.layers.size()) return missing_data(m, "the statistics file has");
  std::string layers;
  for (int l : lacking) layers += (layers.empty() ? "" : ", ") + std::to_string(l);
  return missing_data(m,
                      (lacking.size() == 1 ? "layer " + layers + " of the statistics file has"
                                           : "layers " + layers + " of the statistics file have"));
}

std::vector<Method> supported_methods(const StatsFile& stats) {
  std::vector<Method> out;
  for (Method m : all_methods())
    if (method_supported(stats, m)) out.push_back(m);
  return out;
}

Result<Method> parse_method(const std::string& s) {
  std::string names;
  for (Method m : all_methods()) {
    if (s == method_name(m)) return m;
    names += names.empty() ? "" : ", ";
    names += method_name(m);
  }
  return make_error(ErrorCode::InvalidArgument,
                    "unknown method '" + s + "' (expected " + names + ")");
}

Result<VertexScore> parse_vertex_score(const std::string& s) {
  if (s == "reap") return VertexScore::Reap;
  if (s == "frequency") return VertexScore::Frequency;
  if (s == "none") return VertexScore::None;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown vertex score '" + s + "' (expected reap, frequency or none)");
}

Result<TriangleCredit> parse_triangle_credit(const std::string& s) {
  if (s == "partial") return TriangleCredit::Partial;
  if (s == "binary") return TriangleCredit::Binary;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown triangle credit '" + s + "' (expected partial or binary)");
}

const char* vertex_score_name(VertexScore s) {
  switch (s) {
    case VertexScore::Reap:
      return "reap";
    case VertexScore::Frequency:
      return "frequency";
    case VertexScore::None:
      return "none";
  }
  return "reap";
}

Result<HarmonicTarget> parse_harmonic_target(const std::string& s) {
  if (s == "expected") return HarmonicTarget::Expected;
  if (s == "oriented") return HarmonicTarget::Oriented;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown harmonic target '" + s + "' (expected expected or oriented)");
}

const char* harmonic_target_name(HarmonicTarget t) {
  return t == HarmonicTarget::Expected ? "expected" : "oriented";
}

Result<ReductionMode> parse_reduction_mode(const std::string& s) {
  if (s == "prune") return ReductionMode::Prune;
  if (s == "merge") return ReductionMode::Merge;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown reduction mode '" + s + "' (expected prune or merge)");
}

const char* reduction_mode_name(ReductionMode m) {
  return m == ReductionMode::Merge ? "merge" : "prune";
}

Status validate_selection_options(const SelectionOptions& o) {
  auto bad = [](const std::string& what) { return make_error(ErrorCode::InvalidArgument, what); };
  if (!(o.rho_h >= 0.0 && o.rho_h <= 1.0))
    return bad("rho_h must be in [0, 1], got " + std::to_string(o.rho_h));
  if (!(o.rho_t >= 0.0 && o.rho_t <= 1.0))
    return bad("rho_t must be in [0, 1], got " + std::to_string(o.rho_t));
  if (o.cover_tri < 1 || o.cover_tri > 3)
    return bad("cover_tri must be 1, 2 or 3, got " + std::to_string(o.cover_tri));
  for (double l : {o.lambda_e, o.lambda_t, o.lambda_v})
    if (!(std::isfinite(l) && l >= 0.0))
      return bad("lambda weights must be finite and >= 0, got " + std::to_string(l));
  if (o.keep < 0 && !(o.ratio >= 0.0 && o.ratio < 1.0))
    return bad("ratio must be in [0, 1), got " + std::to_string(o.ratio));
  return Ok{};
}

Result<int> keep_count(int experts, const SelectionOptions& options) {
  if (experts < 1)
    return make_error(ErrorCode::InvalidArgument,
                      "a layer needs at least one expert, got " + std::to_string(experts));
  int keep = options.keep;
  if (keep < 0) {
    if (!(options.ratio >= 0.0 && options.ratio < 1.0))
      return make_error(ErrorCode::InvalidArgument,
                        "ratio must be in [0, 1), got " + std::to_string(options.ratio));
    // Round half to even (as numpy does) and always keep at least one expert.
    keep = std::max(1, experts - static_cast<int>(std::nearbyint(options.ratio * experts)));
  }
  if (keep < 1 || keep > experts)
    return make_error(ErrorCode::InvalidArgument, "keep must be in 1.." + std::to_string(experts) +
                                                      ", got " + std::to_string(keep));
  return keep;
}

CoverageTargets hodgecover_targets(const LayerStats& layer, const Complex& complex,
                                   const HodgeDecomposition& hodge, const SelectionOptions& options,
                                   const ExpectedEnergies* expected) {
  CoverageTargets targets;
  targets.vertex_weight = vertex_weights(layer, options.vertex_score);

  const int m = complex.edge_count();
  if (options.harmonic_target == HarmonicTarget::Expected) {
    std::optional<ExpectedEnergies> computed;
    if (!expected || expected->harmonic.size() != m) {
      auto e = expected_hodge_energies(complex);
      if (e) computed = std::move(e).value();
      expected = computed ? &*computed : nullptr;
    }
    if (expected) {
      targets.energy_gradient = expected->gradient;
      targets.energy_curl = expected->curl;
      targets.energy_harmonic = expected->harmonic;
    }
  } else if (hodge.harmonic.size() == m) {
    targets.energy_gradient = hodge.gradient.cwiseAbs2();
    targets.energy_curl = hodge.curl.cwiseAbs2();
    targets.energy_harmonic = hodge.harmonic.cwiseAbs2();
  }
  if (targets.energy_harmonic.size() == m) {
    std::vector<Ranked> items(m);
    double harmonic = 0.0;
    for (int e = 0; e < m; ++e) {
      items[e] = {e, targets.energy_harmonic[e]};
      harmonic += items[e].value;
    }
    const double total = complex.signal.squaredNorm();
    if (harmonic > kNumericalZero * std::max(total, harmonic))
      add_edge_targets(complex, std::move(items), options.rho_h, targets);
  }

  const std::size_t t_count = std::min(layer.triangles.size(), layer.triangle_barrier.size());
  if (t_count == 0) return targets;
  // Triplet excess over what the pairs predict. A pair missing from the file counts as 0, so a
  // candidate whose pairs were never measured is judged on its full triplet barrier. Barriers
  // are stored as float, so a float matrix loses nothing and halves the memory touched.
  const int n = std::max(0, layer.experts);
  const std::size_t stride = static_cast<std::size_t>(n);
  std::vector<float> pair(stride * stride, 0.0f);
  for (std::size_t e = 0; e < std::min(layer.edges.size(), layer.edge_barrier.size()); ++e) {
    const int a = layer.edges[e][0], b = layer.edges[e][1];
    if (a < 0 || b < 0 || a >= n || b >= n || !std::isfinite(layer.edge_barrier[e])) continue;
    pair[a * stride + b] = pair[b * stride + a] = layer.edge_barrier[e];
  }
  std::vector<Ranked> items;
  items.reserve(t_count);
  for (std::size_t t = 0; t < t_count; ++t) {
    const std::array<int, 3> v = sorted_triangle(layer.triangles[t]);
    if (v[0] < 0 || v[2] >= n || v[0] == v[1] || v[1] == v[2]) continue;
    const double bij = pair[v[0] * stride + v[1]], bik = pair[v[0] * stride + v[2]],
                 bjk = pair[v[1] * stride + v[2]];
    const double base = options.fill == FillRule::Sum ? bij + bik + bjk : std::max({bij, bik, bjk});
    items.push_back({static_cast<int>(t), layer.triangle_barrier[t] - base});
  }
  const std::vector<Ranked> chosen = critical_prefix(std::move(items), options.rho_t);
  targets.triangle_weight = normalised(chosen);
  targets.triangles.reserve(chosen.size());
  for (const Ranked& r : chosen)
    targets.triangles.push_back(sorted_triangle(layer.triangles[r.index]));
  return targets;
}

CoverageTargets pairwise_targets(const LayerStats& layer, const Complex& complex,
                                 const SelectionOptions& options) {
  CoverageTargets targets;
  targets.vertex_weight = vertex_weights(layer, options.vertex_score);
  const int m = complex.edge_count();
  if (complex.signal.size() == m) {
    std::vector<Ranked> items(m);
    for (int e = 0; e < m; ++e) items[e] = {e, complex.signal[e]};
    add_edge_targets(complex, std::move(items), options.rho_h, targets);
  }
  return targets;
}

double coverage_objective(const CoverageTargets& targets, const std::vector<int>& kept,
                          const SelectionOptions& options, TriangleCredit credit) {
  const int n = static_cast<int>(targets.vertex_weight.size());
  int limit = n;
  for (int v : kept) limit = std::max(limit, v + 1);
  std::vector<char> in(limit, 0);
  for (int v : kept)
    if (v >= 0) in[v] = 1;
  auto is_in = [&](int v) { return v >= 0 && v < limit && in[v]; };

  double edges = 0.0, triangles = 0.0, vertices = 0.0;
  for (std::size_t e = 0; e < targets.edges.size() && e < targets.edge_weight.size(); ++e)
    if (is_in(targets.edges[e][0]) || is_in(targets.edges[e][1])) edges += targets.edge_weight[e];
  const int cover = std::clamp(options.cover_tri, 1, 3);
  for (std::size_t t = 0; t < targets.triangles.size() && t < targets.triangle_weight.size(); ++t) {
    int count = 0;
    for (int v : targets.triangles[t]) count += is_in(v) ? 1 : 0;
    if (credit == TriangleCredit::Binary)
      triangles += count >= cover ? targets.triangle_weight[t] : 0.0;
    else
      triangles += targets.triangle_weight[t] * std::min(count, cover) / cover;
  }
  for (int v = 0; v < n; ++v)
    if (in[v]) vertices += targets.vertex_weight[v];
  return options.lambda_e * edges + options.lambda_t * triangles + options.lambda_v * vertices;
}

RetainedMasses retained_masses(const Complex& complex, const HodgeDecomposition& hodge,
                               const CoverageTargets& hodge_targets, const std::vector<int>& kept,
                               int cover_tri) {
  int limit = complex.vertex_count;
  for (int v : kept) limit = std::max(limit, v + 1);
  std::vector<char> in(std::max(0, limit), 0);
  for (int v : kept)
    if (v >= 0) in[v] = 1;
  auto is_in = [&](int v) { return v >= 0 && v < limit && in[v]; };

  const int m = complex.edge_count();
  const bool own = hodge_targets.energy_harmonic.size() == m &&
                   hodge_targets.energy_gradient.size() == m &&
                   hodge_targets.energy_curl.size() == m;
  const Eigen::VectorXd oriented[3] = {own ? Eigen::VectorXd() : hodge.gradient.cwiseAbs2(),
                                       own ? Eigen::VectorXd() : hodge.curl.cwiseAbs2(),
                                       own ? Eigen::VectorXd() : hodge.harmonic.cwiseAbs2()};
  const Eigen::VectorXd* parts[3] = {own ? &hodge_targets.energy_gradient : &oriented[0],
                                     own ? &hodge_targets.energy_curl : &oriented[1],
                                     own ? &hodge_targets.energy_harmonic : &oriented[2]};
  double total[3] = {0, 0, 0}, covered[3] = {0, 0, 0};
  for (int p = 0; p < 3; ++p) {
    if (parts[p]->size() != m) continue;
    for (int e = 0; e < m; ++e) {
      const double energy = (*parts[p])[e];
      total[p] += energy;
      if (is_in(complex.edges[e][0]) || is_in(complex.edges[e][1])) covered[p] += energy;
    }
  }
  const double scale = std::max(hodge.energy.total, total[0] + total[1] + total[2]);
  auto share = [&](double cov, double tot, double reference) {
    return tot > kNumericalZero * reference ? std::min(1.0, cov / tot) : 1.0;
  };

  double tri_total = 0.0, tri_covered = 0.0;
  const int cover = std::clamp(cover_tri, 1, 3);
  const auto& tri = hodge_targets.triangles;
  for (std::size_t t = 0; t < tri.size() && t < hodge_targets.triangle_weight.size(); ++t) {
    const double w = hodge_targets.triangle_weight[t];
    tri_total += w;
    if (is_in(tri[t][0]) + is_in(tri[t][1]) + is_in(tri[t][2]) >= cover) tri_covered += w;
  }

  RetainedMasses r;
  r.gradient = share(covered[0], total[0], scale);
  r.curl = share(covered[1], total[1], scale);
  r.harmonic = share(covered[2], total[2], scale);
  r.triangle = tri_total > 0.0 ? std::min(1.0, tri_covered / tri_total) : 1.0;
  return r;
}

Result<LayerPlan> select_layer(const LayerStats& layer, const Complex& complex,
                               const HodgeDecomposition& hodge, const SelectionOptions& options,
                               const CoverageTargets* hodge_targets) {
  const std::string where = "layer " + std::to_string(layer.layer) + ": ";
  if (Status valid = validate_selection_options(options); !valid)
    return make_error(ErrorCode::InvalidArgument, where + valid.error().message);
  Result<int> keep = keep_count(layer.experts, options);
  if (!keep) return make_error(ErrorCode::InvalidArgument, where + keep.error().message);
  const int experts = layer.experts;
  if (Status supported = method_supported(layer, options.method); !supported)
    return make_error(supported.error().code, where + supported.error().message);

  const bool needs_complex =
      options.method == Method::HodgeCover || options.method == Method::Pairwise;
  if (needs_complex) {
    if (complex.vertex_count != experts || complex.signal.size() != complex.edge_count())
      return make_error(ErrorCode::InvalidArgument, where + "the complex does not match the layer");
    if (options.method == Method::HodgeCover && hodge.harmonic.size() != complex.edge_count())
      return make_error(ErrorCode::InvalidArgument,
                        where + "the decomposition does not match the complex");
  }

  LayerPlan plan;
  plan.layer = layer.layer;
  switch (options.method) {
    case Method::HodgeCover:
      plan.keep = hodge_targets ? greedy_cover(*hodge_targets, experts, *keep, options)
                                : greedy_cover(hodgecover_targets(layer, complex, hodge, options),
                                               experts, *keep, options);
      break;
    case Method::Pairwise:
      plan.keep = greedy_cover(pairwise_targets(layer, complex, options), experts, *keep, options);
      break;
    case Method::Frequency:
      plan.keep = detail::top_experts(layer.frequency, experts, *keep);
      break;
    case Method::Reap:
      plan.keep = detail::top_experts(layer.reap, experts, *keep);
      break;
    case Method::Ean:
      plan.keep = detail::top_experts(layer.ean, experts, *keep);
      break;
    case Method::Loo:
      plan.keep = detail::top_experts(layer.loo, experts, *keep);
      break;
    case Method::Random:
      plan.keep = detail::random_experts(experts, *keep, options.seed,
                                         static_cast<std::uint64_t>(layer.layer));
      break;
    case Method::HcSmoe:
      return detail::hcsmoe_plan(layer, *keep);
    case Method::Substitute: {
      // In merge mode each dropped expert merges into its substitute.
      SubstitutePlan s = substitute_selection(layer, *keep);
      plan.keep = std::move(s.keep);
      plan.merge_into = std::move(s.substitute);
      return plan;
    }
    case Method::HodgeRank: {
      const SubstitutionFlow flow = substitution_flow(layer);
      const std::vector<float> hardness(flow.hardness.begin(), flow.hardness.end());
      plan.keep = detail::top_experts(hardness, experts, *keep);
      break;
    }
  }
  plan.merge_into = nearest_survivor(layer, plan.keep);
  return plan;
}

RetainedMasses mean_retained(const std::map<int, RetainedMasses>& by_layer) {
  if (by_layer.empty()) return RetainedMasses{};
  RetainedMasses mean{0, 0, 0, 0};
  for (const auto& [layer, r] : by_layer) {
    mean.gradient += r.gradient;
    mean.curl += r.curl;
    mean.harmonic += r.harmonic;
    mean.triangle += r.triangle;
  }
  const double n = static_cast<double>(by_layer.size());
  mean.gradient /= n;
  mean.curl /= n;
  mean.harmonic /= n;
  mean.triangle /= n;
  return mean;
}

}  // namespace hc
