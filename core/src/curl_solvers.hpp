// Internal to hodge.cpp and hodge_expected.cpp: the two ways to project an edge signal onto
// range(B2), and the dense graph-Laplacian solve both the gradient and the direct curl use.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "hc/complex.hpp"

namespace hc::detail {

// Minimum-norm potentials of a graph: for each right-hand side r (vertex vector summing to zero
// on every connected component), the s with L0 s = r and zero mean on every component. A dense
// E x E Cholesky of L0 + sum_C (1/|C|) 1_C 1_C^T (positive definite; the added term acts on
// L0's null space only), factorised once; E is at most a few hundred experts, so this costs
// well under a millisecond. Vertices 0..n-1; edges (tail, head).
class GraphPotential {
 public:
  GraphPotential(int vertices, std::vector<std::array<int, 2>> edges);
  bool ok() const { return m_llt.info() == Eigen::Success; }
  // One solve plus one step of iterative refinement against L0 itself (the quantity the
  // |B1 h| check measures), which keeps that residual near machine precision.
  Eigen::VectorXd solve(const Eigen::VectorXd& rhs) const;
  int vertices() const { return m_n; }
  const std::vector<std::array<int, 2>>& edges() const { return m_edges; }

 private:
  std::vector<std::array<int, 2>> m_edges;
  int m_n;
  Eigen::LLT<Eigen::MatrixXd> m_llt;
};

// B2 restricted to the edges that lie on some filled triangle (the "active" edges): the curl
// problem leaves every other edge untouched, and on sparse fillings this shrinks the M-length
// vectors a lot. Rows are local: active()[i] is the complex edge of local row i.
class TriangleOperator {
 public:
  TriangleOperator(const Complex& cx, const std::vector<std::array<int, 3>>& tri);

  Eigen::Index rows() const { return static_cast<Eigen::Index>(m_active.size()); }
  Eigen::Index cols() const { return static_cast<Eigen::Index>(m_tri.size()); }
  const std::vector<int>& active() const { return m_active; }

  // y = B2 x (local rows): columns are +1 at (b,c), -1 at (a,c), +1 at (a,b).
  void apply(const Eigen::VectorXd& x, Eigen::VectorXd& y) const;
  // x = B2^T y.
  void apply_transpose(const Eigen::VectorXd& y, Eigen::VectorXd& x) const;

 private:
  std::vector<std::array<int, 3>> m_tri;  // local row of (b,c), (a,c), (a,b) per triangle
  std::vector<int> m_active;              // local row -> edge index in the complex
};

struct CurlSolve {
  Eigen::VectorXd c;           // T: coefficients
  Eigen::VectorXd resid;       // local rows: b - B2 c, recomputed explicitly at the end
  double normal_residual = 0;  // |B2^T resid|
  int iterations = 0;
};

// CGLS for min |B2 c - b| from `start` (T; empty: zero), restarted from the current iterate
// with an explicitly recomputed residual when the recurrence drifts. B2^T (b - B2 c) is the
// normal-equation residual, so the stopping test is directly the |B2^T f_harm| check whatever the
// start. `max_iterations` caps all passes together.
CurlSolve solve_curl_cgls(const TriangleOperator& b2, const Eigen::VectorXd& b, double target,
                          int max_iterations, Eigen::VectorXd start = {});

// The direct curl projection. Let K' be the filled triangles with their edges (the active ones)
// and vertices. Within the active edges, range(B2) is the kernel of K''s own B1' less K''s
// harmonic space, whose dimension is k = |active| - (|V'| - components') - rank B2. When k = 0
// (sparse fillings, and dense ones without one-dimensional holes among the triangles' edges:
// every layer of the bundled models), range(B2) = ker(B1'), so for a local right-hand side b
//   curl = b - B1'^T s,  L0' s = B1' b,
// one dense solve with K''s graph Laplacian (|V'| <= E unknowns) instead of an iterative
// least-squares solve over the triangles. make() returns nothing when k > 0. `rank_b2` must be
// the exact rank (Betti numbers give it); a rank below the rational one can only make k
// larger, so the direct path is never taken wrongly.
class ComplementCurl {
 public:
  static std::optional<ComplementCurl> make(const Complex& cx, const TriangleOperator& b2,
                                            int rank_b2);
  // Local rows: curl = b - harm, harm = B1'^T s.
  void project(const Eigen::VectorXd& b, Eigen::VectorXd& curl, Eigen::VectorXd& harm) const;

 private:
  explicit ComplementCurl(GraphPotential laplacian) : m_laplacian(std::move(laplacian)) {}
  GraphPotential m_laplacian;  // of K': local vertices, edges in local-row order
};

}  // namespace hc::detail
