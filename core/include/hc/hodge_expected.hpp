// Orientation-free Hodge edge energies: the energy of each edge's gradient, curl and harmonic
// part averaged over every orientation of the edges (docs/METHOD.md, "Orientation").
#pragma once

#include <Eigen/Core>

#include "hc/complex.hpp"
#include "hc/result.hpp"

namespace hc {

// Per-edge energies, M entries each, in the complex's edge order. For a part with orthogonal
// projector P (P_grad = B1ᵀ L0⁺ B1, P_curl = B2 (B2ᵀB2)⁺ B2ᵀ, P_harm = I − P_grad − P_curl) the
// energy of edge e is E_s[(P (s∘f))_e²] = Σ_k P_ek² f_k², s uniform random signs: the expected
// squared part when each edge's orientation is a fair coin. Squared entries of a projector do
// not change when edges are re-oriented (P → S P S), so these values depend only on the
// unoriented complex and the barriers; renumbering experts permutes them. The three vectors
// sum, over all edges, to |f|² (each part's total is Σ_k P_kk f_k²).
struct ExpectedEnergies {
  Eigen::VectorXd gradient, curl, harmonic;
  bool sampled = false;  // curl and harmonic estimated from kExpectedSamples sign vectors
  double total() const { return gradient.sum() + curl.sum() + harmonic.sum(); }
};

// Sign vectors of the sampled estimate. Only the curl corrections are sampled (the rest is
// exact), so the per-edge error is a fraction of the curl part, not of the harmonic energy.
inline constexpr int kExpectedSamples = 16;

// Exact, in closed form: O(M) for the gradient on the complete graph (O(E³ + M) otherwise),
// and O(min(T, A)³ + A²·rank B2) for the curl, A the number of edges on a filled triangle.
// When A²·rank B2 exceeds 4e8 (hundreds of filled triangles) the curl and harmonic parts are
// instead estimated from kExpectedSamples seeded sign vectors (the gradient part and the
// cycle-space energy stay exact), and `sampled` is set: then the curl and harmonic values carry
// sampling error and are unchanged by renumbering only up to that error. Values below 1e-13·|f|²
// are rounding and are returned as 0. InvalidArgument for a malformed complex.
Result<ExpectedEnergies> expected_hodge_energies(const Complex& complex);

}  // namespace hc
