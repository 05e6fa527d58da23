// Builds a layer's simplicial 2-complex (docs/METHOD.md): threshold, orientation, filled triangles
// and holes, and the two boundary operators.
#include "hc/complex.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <utility>

#include "duplicate_rows.hpp"

namespace hc {
namespace {

// Maps an unordered vertex pair to an edge index. A dense table is the fastest for the
// few-hundred-expert layers we see; very large vertex counts fall back to binary search so a
// corrupt `experts` value cannot make us allocate gigabytes.
class EdgeIndex {
 public:
  static constexpr int kDenseLimit = 1024;

  explicit EdgeIndex(int vertices) : m_n(vertices) {
    if (m_n <= kDenseLimit) m_dense.assign(static_cast<std::size_t>(m_n) * m_n, -1);
  }

  // Returns false if the pair is already present.
  bool add(int a, int b, int edge) {
    if (m_n <= kDenseLimit) {
      int& slot = m_dense[key(a, b)];
      if (slot >= 0) return false;
      slot = edge;
      return true;
    }
    m_sorted.push_back({key(a, b), edge});
    return true;
  }

  // Call once after the last add(); returns false on a duplicate pair (sparse mode only).
  bool finish() {
    if (m_n <= kDenseLimit) return true;
    std::sort(m_sorted.begin(), m_sorted.end());
    for (std::size_t i = 1; i < m_sorted.size(); ++i)
      if (m_sorted[i].first == m_sorted[i - 1].first) return false;
    return true;
  }

  int find(int a, int b) const {
    if (m_n <= kDenseLimit) return m_dense[key(a, b)];
    const std::uint64_t k = key(a, b);
    auto it = std::lower_bound(m_sorted.begin(), m_sorted.end(), std::make_pair(k, -1));
    return it != m_sorted.end() && it->first == k ? it->second : -1;
  }

 private:
  std::uint64_t key(int a, int b) const {
    if (a > b) std::swap(a, b);
    return static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(m_n) +
           static_cast<std::uint64_t>(b);
  }

  int m_n;
  std::vector<int> m_dense;
  std::vector<std::pair<std::uint64_t, int>> m_sorted;
};

bool valid_barrier(float b) {
  return std::isfinite(b) && b >= 0.0f;
}

std::string layer_name(const LayerStats& layer) {
  return "layer " + std::to_string(layer.layer) + ": ";
}

// Light structural checks so build_complex never reads out of range, independent of the stats
// reader (which runs the full validate_layer on load).
Status check_layer(const LayerStats& layer, bool need_frequency, bool need_reap) {
  const std::string where = layer_name(layer);
  const int n = layer.experts;
  if (n < 0) return make_error(ErrorCode::Corrupt, where + "negative expert count");
  if (layer.edges.size() != layer.edge_barrier.size())
    return make_error(ErrorCode::Corrupt, where + "edges and edge_barrier differ in length");
  if (layer.triangles.size() != layer.triangle_barrier.size())
    return make_error(ErrorCode::Corrupt,
                      where + "triangles and triangle_barrier differ in length");
  if (need_frequency) {
    if (layer.frequency.size() != static_cast<std::size_t>(n))
      return make_error(ErrorCode::Corrupt, where + "expert_frequency has the wrong length");
    for (float v : layer.frequency)
      if (!std::isfinite(v))
        return make_error(ErrorCode::Corrupt, where + "expert_frequency is not finite");
  }
  if (need_reap) {
    if (layer.reap.size() != static_cast<std::size_t>(n))
      return make_error(ErrorCode::Corrupt, where + "expert_reap has the wrong length");
    for (float v : layer.reap)
      if (!std::isfinite(v))
        return make_error(ErrorCode::Corrupt, where + "expert_reap is not finite");
  }
  for (std::size_t e = 0; e < layer.edges.size(); ++e) {
    const auto& p = layer.edges[e];
    if (p[0] < 0 || p[1] < 0 || p[0] >= n || p[1] >= n || p[0] == p[1])
      return make_error(ErrorCode::Corrupt,
                        where + "edge " + std::to_string(e) + " has a bad vertex index");
    if (!valid_barrier(layer.edge_barrier[e]))
      return make_error(ErrorCode::Corrupt,
                        where + "edge_barrier " + std::to_string(e) + " is NaN or negative");
  }
  for (std::size_t t = 0; t < layer.triangles.size(); ++t) {
    const auto& v = layer.triangles[t];
    for (int i = 0; i < 3; ++i)
      if (v[i] < 0 || v[i] >= n)
        return make_error(ErrorCode::Corrupt,
                          where + "triangle " + std::to_string(t) + " has a bad vertex index");
    if (v[0] == v[1] || v[0] == v[2] || v[1] == v[2])
      return make_error(ErrorCode::Corrupt,
                        where + "triangle " + std::to_string(t) + " repeats a vertex");
    if (!valid_barrier(layer.triangle_barrier[t]))
      return make_error(ErrorCode::Corrupt,
                        where + "triangle_barrier " + std::to_string(t) + " is NaN or negative");
  }
  return Ok{};
}

// Duplicate candidates would add parallel B2 columns and inflate beta2, so they are rejected.
Status check_unique_triangles(const LayerStats& layer) {
  if (detail::find_duplicate_row(layer.triangles, layer.experts))
    return make_error(ErrorCode::Corrupt, layer_name(layer) + "duplicate candidate triangle");
  return Ok{};
}

}  // namespace

Result<Orientation> parse_orientation(const std::string& s) {
  if (s == "index") return Orientation::Index;
  if (s == "frequency") return Orientation::Frequency;
  if (s == "reap") return Orientation::Reap;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown orientation '" + s + "' (expected index, frequency or reap)");
}

const char* orientation_name(Orientation o) {
  switch (o) {
    case Orientation::Index:
      return "index";
    case Orientation::Frequency:
      return "frequency";
    case Orientation::Reap:
      return "reap";
  }
  return "index";
}

Result<EdgeMode> parse_edge_mode(const std::string& s) {
  if (s == "complete") return EdgeMode::Complete;
  if (s == "threshold") return EdgeMode::Threshold;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown edge mode '" + s + "' (expected complete or threshold)");
}

Result<FillRule> parse_fill_rule(const std::string& s) {
  if (s == "tau") return FillRule::Tau;
  if (s == "sum") return FillRule::Sum;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown fill rule '" + s + "' (expected tau or sum)");
}

Result<EdgeSignal> parse_edge_signal(const std::string& s) {
  if (s == "barrier") return EdgeSignal::Barrier;
  if (s == "flow") return EdgeSignal::SubstitutionFlow;
  return make_error(ErrorCode::InvalidArgument,
                    "unknown edge signal '" + s + "' (expected barrier or flow)");
}

const char* edge_signal_name(EdgeSignal s) {
  return s == EdgeSignal::Barrier ? "barrier" : "flow";
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  if (!(q > 0.0)) q = 0.0;  // also maps NaN to 0; callers validate q beforehand
  if (q > 1.0) q = 1.0;
  // numpy 'linear': h = (n-1) q, result = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
  const double h = static_cast<double>(values.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const double frac = h - static_cast<double>(lo);
  auto lo_it = values.begin() + static_cast<std::ptrdiff_t>(lo);
  std::nth_element(values.begin(), lo_it, values.end());
  const double x_lo = *lo_it;
  if (frac == 0.0 || lo + 1 >= values.size()) return x_lo;
  // After nth_element everything past lo_it is >= x_lo, so the next order statistic is its min.
  const double x_hi = *std::min_element(lo_it + 1, values.end());
  return x_lo + frac * (x_hi - x_lo);
}

Result<Complex> build_complex(const LayerStats& layer, const ComplexOptions& options) {
  if (options.tau) {
    if (!std::isfinite(*options.tau) || *options.tau < 0.0)
      return make_error(ErrorCode::InvalidArgument,
                        "tau must be finite and non-negative, got " + std::to_string(*options.tau));
  } else if (!(options.tau_quantile >= 0.0 && options.tau_quantile <= 1.0)) {
    return make_error(ErrorCode::InvalidArgument, "tau quantile must lie in [0, 1], got " +
                                                      std::to_string(options.tau_quantile));
  }
  HC_TRY_STATUS(check_layer(layer, options.orientation == Orientation::Frequency,
                            options.orientation == Orientation::Reap));
  HC_TRY_STATUS(check_unique_triangles(layer));
  const bool flow = options.signal == EdgeSignal::SubstitutionFlow;
  if (flow && layer.substitution.size() !=
                  static_cast<std::size_t>(layer.experts) * static_cast<std::size_t>(layer.experts))
    return make_error(ErrorCode::InvalidArgument,
                      layer_name(layer) +
                          "the flow signal needs directed substitution barriers (tensor "
                          "substitution_barrier, format 1.3)");

  Complex cx;
  const int n = layer.experts;
  cx.vertex_count = n;
  if (options.tau) {
    cx.tau = *options.tau;
  } else {
    std::vector<double> all(layer.edge_barrier.begin(), layer.edge_barrier.end());
    cx.tau = quantile(std::move(all), options.tau_quantile);
  }

  // rank[v] = position of v when vertices are ordered by ascending frequency or REAP (ties by
  // index).
  cx.rank.resize(static_cast<std::size_t>(n));
  std::iota(cx.rank.begin(), cx.rank.end(), 0);
  if (options.orientation != Orientation::Index) {
    const std::vector<float>& key =
        options.orientation == Orientation::Frequency ? layer.frequency : layer.reap;
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const float fa = key[a], fb = key[b];
      return fa < fb || (fa == fb && a < b);
    });
    for (int pos = 0; pos < n; ++pos) cx.rank[order[pos]] = pos;
  }

  // Edges, in file order, oriented from lower to higher rank. The pair table covers every file
  // edge so duplicates are caught even among edges the threshold drops.
  const std::size_t m_all = layer.edges.size();
  cx.edges.reserve(m_all);
  cx.edge_source.reserve(m_all);
  std::vector<double> signal, barriers;  // f, and the barriers the fill rules read
  signal.reserve(m_all);
  barriers.reserve(m_all);
  std::vector<int> kept_as(m_all, -1);  // file edge -> complex edge, or -1 when dropped
  EdgeIndex pairs(n);
  for (std::size_t e = 0; e < m_all; ++e) {
    int a = layer.edges[e][0], b = layer.edges[e][1];
    if (!pairs.add(a, b, static_cast<int>(e)))
      return make_error(ErrorCode::Corrupt, layer_name(layer) + "duplicate edge " +
                                                std::to_string(a) + "-" + std::to_string(b));
    const double barrier = layer.edge_barrier[e];
    if (options.edges == EdgeMode::Threshold && barrier > cx.tau) continue;
    if (cx.rank[a] > cx.rank[b]) std::swap(a, b);
    kept_as[e] = static_cast<int>(cx.edges.size());
    cx.edges.push_back({a, b});
    cx.edge_source.push_back(static_cast<int>(e));
    barriers.push_back(barrier);
    signal.push_back(flow ? double(layer.substitution_barrier(a, b)) -
                                double(layer.substitution_barrier(b, a))
                          : barrier);
  }
  if (!pairs.finish()) return make_error(ErrorCode::Corrupt, layer_name(layer) + "duplicate edge");
  cx.signal =
      Eigen::Map<const Eigen::VectorXd>(signal.data(), static_cast<Eigen::Index>(signal.size()));
  auto kept_edge = [&](int x, int y) {
    const int e = pairs.find(x, y);
    return e < 0 ? -1 : kept_as[static_cast<std::size_t>(e)];
  };

  // Candidates whose three edges are in the complex either fill or become holes.
  for (std::size_t t = 0; t < layer.triangles.size(); ++t) {
    std::array<int, 3> v = layer.triangles[t];
    std::sort(v.begin(), v.end(), [&](int x, int y) { return cx.rank[x] < cx.rank[y]; });
    const int e_bc = kept_edge(v[1], v[2]);
    const int e_ac = kept_edge(v[0], v[2]);
    const int e_ab = kept_edge(v[0], v[1]);
    if (e_bc < 0 || e_ac < 0 || e_ab < 0) continue;
    const double barrier = layer.triangle_barrier[t];
    const double limit = options.fill == FillRule::Tau
                             ? cx.tau
                             : barriers[static_cast<std::size_t>(e_bc)] +
                                   barriers[static_cast<std::size_t>(e_ac)] +
                                   barriers[static_cast<std::size_t>(e_ab)];
    if (barrier <= limit) {
      cx.filled.push_back(v);
      cx.filled_barrier.push_back(barrier);
      cx.filled_source.push_back(static_cast<int>(t));
    } else {
      cx.holes.push_back(v);
      cx.hole_barrier.push_back(barrier);
    }
  }
  return cx;
}

Eigen::SparseMatrix<double> boundary_1(const Complex& complex) {
  // B1: E x M; column e = (tail, head) has -1 at tail, +1 at head.
  const auto m = static_cast<Eigen::Index>(complex.edges.size());
  Eigen::SparseMatrix<double> b1(complex.vertex_count, m);
  // Eigen 3.4's makeCompressed reads one entry past a per-column reservation of no columns
  // (found by AddressSanitizer): a complex without edges keeps the empty, compressed matrix.
  if (m == 0) return b1;
  b1.reserve(Eigen::VectorXi::Constant(m, 2));
  for (Eigen::Index e = 0; e < m; ++e) {
    const auto [tail, head] = complex.edges[static_cast<std::size_t>(e)];
    b1.insert(tail, e) = -1.0;
    b1.insert(head, e) = 1.0;
  }
  b1.makeCompressed();
  return b1;
}

std::vector<std::array<int, 3>> triangle_edges(const Complex& complex) {
  EdgeIndex index(complex.vertex_count);
  for (std::size_t e = 0; e < complex.edges.size(); ++e)
    index.add(complex.edges[e][0], complex.edges[e][1], static_cast<int>(e));
  index.finish();
  std::vector<std::array<int, 3>> out;
  out.reserve(complex.filled.size());
  for (const auto& v : complex.filled)
    out.push_back({index.find(v[1], v[2]), index.find(v[0], v[2]), index.find(v[0], v[1])});
  return out;
}

Eigen::SparseMatrix<double> boundary_2(const Complex& complex) {
  // B2: M x T; column [a,b,c] has +1 at (b,c), -1 at (a,c), +1 at (a,b), rows in edge order.
  const std::vector<std::array<int, 3>> tri = triangle_edges(complex);
  const auto t_count = static_cast<Eigen::Index>(tri.size());
  Eigen::SparseMatrix<double> b2(static_cast<Eigen::Index>(complex.edges.size()), t_count);
  if (t_count == 0) return b2;  // see boundary_1
  b2.reserve(Eigen::VectorXi::Constant(t_count, 3));
  for (Eigen::Index t = 0; t < t_count; ++t) {
    const auto& e = tri[static_cast<std::size_t>(t)];
    assert(e[0] >= 0 && e[1] >= 0 && e[2] >= 0 && "filled triangle with a missing edge");
    b2.insert(e[0], t) = 1.0;
    b2.insert(e[1], t) = -1.0;
    b2.insert(e[2], t) = 1.0;
  }
  b2.makeCompressed();
  return b2;
}

std::string describe_complex(const ComplexOptions& o) {
  char number[64];
  if (o.tau) {
    std::snprintf(number, sizeof number, "tau = %g", *o.tau);
  } else {
    std::snprintf(number, sizeof number, "tau = %g quantile", o.tau_quantile);
  }
  std::string text = number;
  text += o.edges == EdgeMode::Complete ? ", complete edges" : ", threshold edges";
  text += o.fill == FillRule::Tau ? ", fill tau" : ", fill sum";
  text += std::string(", ") + orientation_name(o.orientation) + " order";
  if (o.signal == EdgeSignal::SubstitutionFlow) text += ", substitution-flow signal";
  return text;
}

}  // namespace hc
