// Hodge decomposition of a complex's edge signal into gradient, curl and harmonic parts
// (docs/METHOD.md): an exact graph solve for the gradient; for the curl, a direct solve with the
// filled triangles' graph Laplacian when their edges carry no 1-cycle, else CGLS on B2, optionally
// warm-started from a previous decomposition of the same layer at another τ.
#include "hc/hodge.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "curl_solvers.hpp"

namespace hc {
namespace {

std::string sci(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", x);
  return buf;
}

}  // namespace

// Graph helpers shared with hodge_expected.cpp (declared in hodge.hpp, namespace detail).
namespace detail {

// Component label (0..count-1) of every vertex; isolated vertices are their own component.
std::vector<int> component_labels(int vertices, const std::vector<std::array<int, 2>>& edges,
                                  int& count) {
  std::vector<int> parent(static_cast<std::size_t>(vertices));
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](int v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  };
  for (const auto& e : edges) parent[root(e[0])] = root(e[1]);
  std::vector<int> label(parent.size(), -1), of_root(parent.size(), -1);
  count = 0;
  for (int v = 0; v < vertices; ++v) {
    int& id = of_root[root(v)];
    if (id < 0) id = count++;
    label[v] = id;
  }
  return label;
}

std::vector<int> component_labels(const Complex& cx, int& count) {
  return component_labels(cx.vertex_count, cx.edges, count);
}

// y = B1 x for an edge vector x (E): each edge sends -x_e to its tail and +x_e to its head.
void apply_b1(int vertices, const std::vector<std::array<int, 2>>& edges, const Eigen::VectorXd& x,
              Eigen::VectorXd& y) {
  y.setZero(vertices);
  for (std::size_t e = 0; e < edges.size(); ++e) {
    y[edges[e][0]] -= x[static_cast<Eigen::Index>(e)];
    y[edges[e][1]] += x[static_cast<Eigen::Index>(e)];
  }
}

// y = B1^T s for a vertex vector s (M): the potential difference head - tail.
void apply_b1t(const std::vector<std::array<int, 2>>& edges, const Eigen::VectorXd& s,
               Eigen::VectorXd& y) {
  y.resize(static_cast<Eigen::Index>(edges.size()));
  for (std::size_t e = 0; e < edges.size(); ++e)
    y[static_cast<Eigen::Index>(e)] = s[edges[e][1]] - s[edges[e][0]];
}

void apply_b1(const Complex& cx, const Eigen::VectorXd& x, Eigen::VectorXd& y) {
  apply_b1(cx.vertex_count, cx.edges, x, y);
}

void apply_b1t(const Complex& cx, const Eigen::VectorXd& s, Eigen::VectorXd& y) {
  apply_b1t(cx.edges, s, y);
}

bool is_complete_graph(const Complex& cx) {
  const auto n = static_cast<std::int64_t>(cx.vertex_count);
  // build_complex rejects duplicate pairs, so the edge count alone identifies K_E.
  return n >= 2 && static_cast<std::int64_t>(cx.edges.size()) == n * (n - 1) / 2;
}

Status check_complex(const Complex& cx) {
  const int n = cx.vertex_count;
  if (n < 0 || cx.signal.size() != static_cast<Eigen::Index>(cx.edges.size()))
    return make_error(ErrorCode::InvalidArgument, "complex: signal and edge list differ in size");
  for (const auto& e : cx.edges)
    if (e[0] < 0 || e[1] < 0 || e[0] >= n || e[1] >= n || e[0] == e[1])
      return make_error(ErrorCode::InvalidArgument, "complex: edge with a bad vertex index");
  for (const auto& t : cx.filled)
    for (int v : t)
      if (v < 0 || v >= n)
        return make_error(ErrorCode::InvalidArgument, "complex: triangle with a bad vertex index");
  return Ok{};
}

}  // namespace detail

using detail::apply_b1;
using detail::apply_b1t;
using detail::check_complex;
using detail::is_complete_graph;

namespace {

// Minimum-norm s with L0 s = B1 f (L0 = B1 B1^T), i.e. zero mean on every component.
Result<Eigen::VectorXd> solve_potential(const Complex& cx, const Eigen::VectorXd& b1f) {
  if (is_complete_graph(cx)) {
    // On K_E, L0 = E*I - 1 1^T and 1^T B1 f = 0, so s = B1 f / E solves L0 s = B1 f and has
    // zero mean, which makes it the minimum-norm solution.
    return Eigen::VectorXd(b1f / static_cast<double>(cx.vertex_count));
  }
  const detail::GraphPotential laplacian(cx.vertex_count, cx.edges);
  if (!laplacian.ok())
    return make_error(ErrorCode::NumericalFailure, "graph Laplacian factorisation failed");
  return laplacian.solve(b1f);
}

using detail::ComplementCurl;
using detail::CurlSolve;
using detail::TriangleOperator;

// The earlier decomposition a warm start may draw on, once its complex is known to have the same
// vertices, edges and signal (so f - f_grad, the curl solve's right-hand side, is unchanged too).
struct Previous {
  const Complex& complex;
  const HodgeDecomposition& hodge;
};

bool same_edges_and_signal(const Complex& cx, const Complex& prev) {
  return cx.vertex_count == prev.vertex_count && cx.edges == prev.edges &&
         cx.signal.size() == prev.signal.size() && cx.signal == prev.signal;
}

// CGLS start for the current filled triangles: the previous coefficient of each triangle that
// was filled before, 0 for new ones. Both filled lists follow the layer's candidate order
// (filled_source ascending), so one merge pairs them without sorting; pairs must also share the
// vertex triple (equal edges mean equal orientations), so a hand-built complex without sources
// simply starts from zero. Sets `matched` to the number carried over.
Eigen::VectorXd warm_coefficients(const Complex& cx, const Previous& prev, int& matched) {
  const std::vector<std::array<int, 3>>& now = cx.filled;
  const std::vector<std::array<int, 3>>& before = prev.complex.filled;
  const Eigen::VectorXd& c_before = prev.hodge.curl_coefficients;
  matched = 0;
  if (c_before.size() != static_cast<Eigen::Index>(before.size())) return {};  // direct solve
  if (now == before) {
    matched = static_cast<int>(now.size());
    return c_before;
  }
  Eigen::VectorXd c = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(now.size()));
  const std::vector<int>& src_now = cx.filled_source;
  const std::vector<int>& src_before = prev.complex.filled_source;
  if (src_now.size() != now.size() || src_before.size() != before.size()) return c;
  std::size_t j = 0;
  for (std::size_t t = 0; t < now.size(); ++t) {
    while (j < before.size() && src_before[j] < src_now[t]) ++j;
    if (j < before.size() && src_before[j] == src_now[t] && before[j] == now[t]) {
      c[static_cast<Eigen::Index>(t)] = c_before[static_cast<Eigen::Index>(j)];
      ++matched;
    }
  }
  return c;
}

}  // namespace

Eigen::MatrixXd detail::curl_projections(const Complex& complex,
                                         const std::vector<std::array<int, 3>>& tri,
                                         const Eigen::MatrixXd& signals, double tolerance) {
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(signals.rows(), signals.cols());
  if (tri.empty()) return out;
  const TriangleOperator b2(complex, tri);
  const std::vector<int>& active = b2.active();
  // One factorisation serves every signal when the direct solve applies.
  const int rank_b2 = complex.triangle_count() - betti_numbers(complex, tri)[2];
  const std::optional<ComplementCurl> direct = ComplementCurl::make(complex, b2, rank_b2);
  const int cap = std::max(100, 2 * static_cast<int>(b2.cols()));
  Eigen::VectorXd rest(b2.rows()), curl, harm;
  for (Eigen::Index j = 0; j < signals.cols(); ++j) {
    for (std::size_t i = 0; i < active.size(); ++i)
      rest[static_cast<Eigen::Index>(i)] = signals(active[i], j);
    if (direct) {
      direct->project(rest, curl, harm);
    } else {
      curl = rest - detail::solve_curl_cgls(b2, rest, tolerance * signals.col(j).norm(), cap).resid;
    }
    for (std::size_t i = 0; i < active.size(); ++i)
      out(active[i], j) = curl[static_cast<Eigen::Index>(i)];
  }
  return out;
}

namespace {

// hodge_decompose, cold (prev == nullptr) or warm from a previous decomposition whose complex has
// the same vertices, edges and signal.
Result<HodgeDecomposition> decompose(const Complex& complex, const HodgeOptions& options,
                                     const Previous* prev) {
  if (!(options.tolerance > 0.0) || options.max_iterations < 0)
    return make_error(ErrorCode::InvalidArgument,
                      "hodge: tolerance must be positive and max_iterations non-negative");
  HC_TRY_STATUS(check_complex(complex));
  const Eigen::VectorXd& f = complex.signal;
  const double f_norm = f.norm();
  HodgeDecomposition out;

  // The gradient depends on the edges and the signal only, which a τ move on the complete graph
  // leaves alone (it changes which triangles fill).
  if (prev) {
    out.potential = prev->hodge.potential;
    out.gradient = prev->hodge.gradient;
    out.reused.gradient = true;
  } else {
    Eigen::VectorXd b1f;
    apply_b1(complex, f, b1f);
    auto potential = solve_potential(complex, b1f);
    if (!potential) return potential.error();
    out.potential = std::move(*potential);
    apply_b1t(complex, out.potential, out.gradient);
  }

  const std::vector<std::array<int, 3>> tri = triangle_edges(complex);
  for (const auto& t : tri)
    if (t[0] < 0 || t[1] < 0 || t[2] < 0)
      return make_error(ErrorCode::InvalidArgument, "complex: filled triangle with a missing edge");
  // Betti numbers stay exact: copied only for an identical complex, otherwise eliminated anew.
  // They come first because rank B2 decides whether the direct curl solve applies.
  if (prev && complex.filled == prev->complex.filled) {
    out.betti = prev->hodge.betti;
    out.reused.betti = true;
  } else {
    out.betti = detail::betti_numbers(complex, tri);
  }

  // The curl is the projection of f - f_grad onto range(B2) (f_grad is orthogonal to it), and
  // what the projection leaves is the harmonic part.
  out.harmonic = f - out.gradient;
  out.curl = Eigen::VectorXd::Zero(f.size());
  double b2t_harm = 0.0;
  if (!tri.empty()) {
    const TriangleOperator b2(complex, tri);
    const std::vector<int>& active = b2.active();
    Eigen::VectorXd rest(b2.rows());
    for (std::size_t i = 0; i < active.size(); ++i)
      rest[static_cast<Eigen::Index>(i)] = out.harmonic[active[i]];
    Eigen::VectorXd curl_local, harm_local;
    const int rank_b2 = complex.triangle_count() - out.betti[2];
    std::optional<ComplementCurl> direct;
    if (options.curl_solver == CurlSolver::Auto)
      direct = ComplementCurl::make(complex, b2, rank_b2);
    if (direct) {
      direct->project(rest, curl_local, harm_local);
      Eigen::VectorXd b2t;
      b2.apply_transpose(harm_local, b2t);
      b2t_harm = b2t.norm();
      out.curl_method = CurlMethod::Direct;
    } else {
      // Aim well below the required tolerance: |<harm, curl>| = |<B2^T harm, c>| and |c| can
      // exceed |f| when B2 is poorly conditioned.
      const double target = 1e-3 * options.tolerance * f_norm;
      const int cap = options.max_iterations > 0 ? options.max_iterations
                                                 : std::max(100, 2 * static_cast<int>(b2.cols()));
      // A previous solution, even for a different set of filled triangles, starts CGLS close
      // to the answer. Its stopping test does not depend on the start, so a warm result meets
      // the same tolerance as a cold one.
      Eigen::VectorXd start;
      if (prev) start = warm_coefficients(complex, *prev, out.reused.warm_triangles);
      CurlSolve curl = detail::solve_curl_cgls(b2, rest, target, cap, std::move(start));
      out.curl_iterations = curl.iterations;
      harm_local = std::move(curl.resid);
      curl_local = rest - harm_local;
      b2t_harm = curl.normal_residual;
      out.curl_coefficients = std::move(curl.c);
      out.curl_method = CurlMethod::Iterative;
    }
    for (std::size_t i = 0; i < active.size(); ++i) {
      const auto k = static_cast<Eigen::Index>(i);
      out.harmonic[active[i]] = harm_local[k];
      out.curl[active[i]] = curl_local[k];
    }
  }

  out.energy.gradient = out.gradient.squaredNorm();
  out.energy.curl = out.curl.squaredNorm();
  out.energy.harmonic = out.harmonic.squaredNorm();
  out.energy.total = f_norm * f_norm;

  Eigen::VectorXd b1h;
  apply_b1(complex, out.harmonic, b1h);
  out.residual_b1 = f_norm > 0 ? b1h.norm() / f_norm : b1h.norm();
  out.residual_b2t = f_norm > 0 ? b2t_harm / f_norm : b2t_harm;
  if (!(out.residual_b1 <= options.tolerance) || !(out.residual_b2t <= options.tolerance))
    return make_error(ErrorCode::NumericalFailure,
                      "hodge: residuals |B1 h|/|f| = " + sci(out.residual_b1) +
                          ", |B2^T h|/|f| = " + sci(out.residual_b2t) + " exceed tolerance " +
                          sci(options.tolerance) + " after " + std::to_string(out.curl_iterations) +
                          " curl iterations");
  return out;
}

}  // namespace

Result<HodgeDecomposition> hodge_decompose(const Complex& complex, const HodgeOptions& options) {
  return decompose(complex, options, nullptr);
}

Result<HodgeDecomposition> hodge_decompose(const Complex& complex, const HodgeOptions& options,
                                           const Complex& previous_complex,
                                           const HodgeDecomposition& previous) {
  // `previous` must be a complete result for previous_complex (a default-constructed one, say
  // for a layer that failed, is not), and the right-hand sides must agree.
  const bool usable = same_edges_and_signal(complex, previous_complex) &&
                      previous.potential.size() == previous_complex.vertex_count &&
                      previous.gradient.size() == previous_complex.signal.size() &&
                      previous.curl.size() == previous_complex.signal.size();
  if (!usable) return decompose(complex, options, nullptr);
  const Previous prev{previous_complex, previous};
  return decompose(complex, options, &prev);
}

}  // namespace hc
