// Hodge decomposition of a complex's edge signal, Betti numbers and energies (docs/METHOD.md).
#pragma once

#include <array>
#include <vector>

#include <Eigen/Core>

#include "hc/complex.hpp"
#include "hc/result.hpp"

namespace hc {

// How the curl (the projection onto range(B2)) is solved. Auto: directly, with the filled
// triangles' graph Laplacian, whenever their edges carry no 1-cycle of their own (docs/METHOD.md
// §5), else by CGLS; Iterative: always CGLS (for comparison and tests).
enum class CurlSolver { Auto, Iterative };
enum class CurlMethod { None, Direct, Iterative };  // what a decomposition used (None: T = 0)

struct HodgeOptions {
  double tolerance = 1e-8;  // required relative residual: |B1 h|, |B2^T h| <= tolerance * |f|
  int max_iterations = 0;   // iterative solver cap; 0 = automatic
  CurlSolver curl_solver = CurlSolver::Auto;
};

struct HodgeEnergy {
  double gradient = 0, curl = 0, harmonic = 0;  // sums of squared components
  double total = 0;                             // |f|^2
  double fraction(double part) const { return total > 0 ? part / total : 0.0; }
};

struct HodgeDecomposition {
  Eigen::VectorXd gradient;    // M: B1^T s
  Eigen::VectorXd curl;        // M: B2 c
  Eigen::VectorXd harmonic;    // M: f - gradient - curl
  Eigen::VectorXd potential;   // E: s, minimum norm (zero mean on every connected component)
  std::array<int, 3> betti{};  // beta0, beta1, beta2
  HodgeEnergy energy;
  double residual_b1 = 0;   // |B1 harmonic| / |f|
  double residual_b2t = 0;  // |B2^T harmonic| / |f|
  CurlMethod curl_method = CurlMethod::None;
  int curl_iterations = 0;            // CGLS iterations (0 for the direct solve and when T = 0)
  Eigen::VectorXd curl_coefficients;  // CGLS only: c with curl = B2 c (T, complex.filled order)
  // What a warm-started decomposition took over from the previous one (all off when cold).
  struct Reuse {
    bool gradient = false;   // potential and gradient copied (same edges and signal)
    bool betti = false;      // Betti numbers copied (same edges and filled triangles)
    int warm_triangles = 0;  // filled triangles whose previous curl coefficient seeded CGLS
  } reused;
};

// Decomposes complex.signal. NumericalFailure if the residual checks exceed the tolerance.
Result<HodgeDecomposition> hodge_decompose(const Complex& complex,
                                           const HodgeOptions& options = {});

// The same decomposition, started from `previous`, an earlier decomposition of
// `previous_complex` (the τ slider: one layer at another threshold). When the edges and the
// signal are unchanged (always so on the complete graph, where τ only moves triangles) the
// gradient is copied and, when the curl needs CGLS, it starts from the previous curl coefficients
// of the triangles still filled (if the previous one ran CGLS); Betti numbers are copied only when
// the filled triangles are unchanged too, and otherwise recomputed exactly. Anything else (a
// threshold graph whose edges moved) is decomposed cold. The result meets the same residual checks,
// so it agrees with hodge_decompose(complex) to the solver tolerance.
Result<HodgeDecomposition> hodge_decompose(const Complex& complex, const HodgeOptions& options,
                                           const Complex& previous_complex,
                                           const HodgeDecomposition& previous);

// Betti numbers (beta0, beta1, beta2) computed exactly: rank B1 from connected components,
// rank B2 by sparse elimination over a large prime field.
std::array<int, 3> betti_numbers(const Complex& complex);

// Rank of B2 over GF(p), p = 2^31 - 1 (equals the rational rank for these complexes).
int boundary_2_rank(const Complex& complex);

namespace detail {
// Component label (0..count-1) of every vertex; isolated vertices are their own component.
std::vector<int> component_labels(const Complex& complex, int& count);
// The same for vertices 0..vertices-1 joined by `edges`.
std::vector<int> component_labels(int vertices, const std::vector<std::array<int, 2>>& edges,
                                  int& count);
// y = B1 x (E) for an edge vector x (M); y = B1ᵀ s (M) for a vertex vector s (E).
void apply_b1(const Complex& complex, const Eigen::VectorXd& x, Eigen::VectorXd& y);
void apply_b1t(const Complex& complex, const Eigen::VectorXd& s, Eigen::VectorXd& y);
// The same for vertices 0..vertices-1 and an edge list (tail, head).
void apply_b1(int vertices, const std::vector<std::array<int, 2>>& edges, const Eigen::VectorXd& x,
              Eigen::VectorXd& y);
void apply_b1t(const std::vector<std::array<int, 2>>& edges, const Eigen::VectorXd& s,
               Eigen::VectorXd& y);
// Whether the complex holds every pair of its vertices (closed forms apply).
bool is_complete_graph(const Complex& complex);
// InvalidArgument unless sizes and vertex indices are consistent.
Status check_complex(const Complex& complex);
// Curl parts of several edge signals at once, without Betti numbers: column j of the result
// is the projection of signals.col(j) onto range(B2), to relative accuracy `tolerance` in the
// normal-equation residual. M×N in, M×N out; `tri` = triangle_edges(complex).
Eigen::MatrixXd curl_projections(const Complex& complex, const std::vector<std::array<int, 3>>& tri,
                                 const Eigen::MatrixXd& signals, double tolerance);
// betti_numbers given triangle_edges(complex), so hodge_decompose builds that map only once.
std::array<int, 3> betti_numbers(const Complex& complex,
                                 const std::vector<std::array<int, 3>>& triangle_edges);
}  // namespace detail

}  // namespace hc
