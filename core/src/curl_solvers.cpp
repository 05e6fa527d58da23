// The curl solvers of the Hodge decomposition (curl_solvers.hpp): CGLS on B2, and the direct
// projection through the triangles' own graph Laplacian when their edges carry no 1-cycle.
#include "curl_solvers.hpp"

#include <cmath>
#include <utility>

#include "hc/hodge.hpp"

namespace hc::detail {

GraphPotential::GraphPotential(int vertices, std::vector<std::array<int, 2>> edges)
    : m_edges(std::move(edges)), m_n(vertices) {
  // The 1/|C| blocks over the connected components make the matrix definite on each of them.
  int components = 0;
  const std::vector<int> component = component_labels(m_n, m_edges, components);
  std::vector<int> size(static_cast<std::size_t>(components), 0);
  for (int v = 0; v < m_n; ++v) ++size[component[v]];
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(m_n, m_n);
  for (const auto& e : m_edges) {
    a(e[0], e[0]) += 1.0;
    a(e[1], e[1]) += 1.0;
    a(e[0], e[1]) -= 1.0;
    a(e[1], e[0]) -= 1.0;
  }
  for (int v = 0; v < m_n; ++v)  // column-major: v outer
    for (int u = 0; u < m_n; ++u)
      if (component[u] == component[v]) a(u, v) += 1.0 / static_cast<double>(size[component[u]]);
  m_llt.compute(a);
}

Eigen::VectorXd GraphPotential::solve(const Eigen::VectorXd& rhs) const {
  Eigen::VectorXd s = m_llt.solve(rhs);
  Eigen::VectorXd ds, l0s;
  apply_b1t(m_edges, s, ds);
  apply_b1(m_n, m_edges, ds, l0s);
  s += m_llt.solve(rhs - l0s);
  return s;
}

TriangleOperator::TriangleOperator(const Complex& cx, const std::vector<std::array<int, 3>>& tri) {
  std::vector<int> local(cx.edges.size(), -1);
  m_tri.reserve(tri.size());
  for (const auto& t : tri) {
    std::array<int, 3> l{};
    for (int i = 0; i < 3; ++i) {
      int& id = local[static_cast<std::size_t>(t[i])];
      if (id < 0) {
        id = static_cast<int>(m_active.size());
        m_active.push_back(t[i]);
      }
      l[i] = id;
    }
    m_tri.push_back(l);
  }
}

void TriangleOperator::apply(const Eigen::VectorXd& x, Eigen::VectorXd& y) const {
  y.setZero(rows());
  for (std::size_t t = 0; t < m_tri.size(); ++t) {
    const double v = x[static_cast<Eigen::Index>(t)];
    y[m_tri[t][0]] += v;
    y[m_tri[t][1]] -= v;
    y[m_tri[t][2]] += v;
  }
}

void TriangleOperator::apply_transpose(const Eigen::VectorXd& y, Eigen::VectorXd& x) const {
  x.resize(cols());
  for (std::size_t t = 0; t < m_tri.size(); ++t)
    x[static_cast<Eigen::Index>(t)] = y[m_tri[t][0]] - y[m_tri[t][1]] + y[m_tri[t][2]];
}

CurlSolve solve_curl_cgls(const TriangleOperator& b2, const Eigen::VectorXd& b, double target,
                          int max_iterations, Eigen::VectorXd start) {
  CurlSolve out;
  const bool warm = start.size() == b2.cols();
  out.c = warm ? std::move(start) : Eigen::VectorXd::Zero(b2.cols());
  out.resid = b;
  Eigen::VectorXd s, p, q, b2c;
  constexpr int kPasses = 3;
  for (int pass = 0; pass < kPasses; ++pass) {
    if (pass > 0 || warm) {
      b2.apply(out.c, b2c);
      out.resid = b - b2c;
    }
    b2.apply_transpose(out.resid, s);
    double gamma = s.squaredNorm();
    out.normal_residual = std::sqrt(gamma);
    if (out.normal_residual <= target) return out;
    p = s;
    while (out.iterations < max_iterations) {
      b2.apply(p, q);
      const double qq = q.squaredNorm();
      if (!(qq > 0.0)) break;
      const double alpha = gamma / qq;
      out.c += alpha * p;
      out.resid -= alpha * q;
      b2.apply_transpose(out.resid, s);
      const double gamma_next = s.squaredNorm();
      ++out.iterations;
      if (std::sqrt(gamma_next) <= target) break;
      p = s + (gamma_next / gamma) * p;
      gamma = gamma_next;
    }
  }
  b2.apply(out.c, b2c);
  out.resid = b - b2c;
  b2.apply_transpose(out.resid, s);
  out.normal_residual = s.norm();
  return out;
}

std::optional<ComplementCurl> ComplementCurl::make(const Complex& cx, const TriangleOperator& b2,
                                                   int rank_b2) {
  // K''s vertices renumbered 0..n'-1 in order of first appearance, its edges in local-row order.
  std::vector<int> local(static_cast<std::size_t>(cx.vertex_count), -1);
  std::vector<std::array<int, 2>> edges;
  edges.reserve(b2.active().size());
  int n = 0;
  for (int e : b2.active()) {
    std::array<int, 2> ends{};
    for (int i = 0; i < 2; ++i) {
      int& id = local[static_cast<std::size_t>(cx.edges[static_cast<std::size_t>(e)][i])];
      if (id < 0) id = n++;
      ends[i] = id;
    }
    edges.push_back(ends);
  }
  int components = 0;
  component_labels(n, edges, components);
  const auto k = static_cast<long long>(edges.size()) - (n - components) - rank_b2;
  if (k != 0) return std::nullopt;
  GraphPotential laplacian(n, std::move(edges));
  if (!laplacian.ok()) return std::nullopt;
  return ComplementCurl(std::move(laplacian));
}

void ComplementCurl::project(const Eigen::VectorXd& b, Eigen::VectorXd& curl,
                             Eigen::VectorXd& harm) const {
  Eigen::VectorXd b1b;
  apply_b1(m_laplacian.vertices(), m_laplacian.edges(), b, b1b);
  apply_b1t(m_laplacian.edges(), m_laplacian.solve(b1b), harm);
  curl = b - harm;
}

}  // namespace hc::detail
