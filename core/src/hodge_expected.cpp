// Orientation-averaged Hodge edge energies in closed form: h_e = Σ_k P_ek² f_k² for the
// gradient, curl and harmonic projectors, without ever forming an M×M matrix.
#include "hc/hodge_expected.hpp"

#include "hc/hodge.hpp"
#include "hc/synth.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace hc {
namespace {

// Above this many multiply-adds (A² · rank) the curl terms are sampled instead.
constexpr double kExactCurlBudget = 4e8;

// G_ek = u_eᵀ L0⁺ u_k, u_e = B1 column of e (−1 at tail, +1 at head). On the complete graph
// L0⁺ = (I − 11ᵀ/E)/E and u sums to zero, so G_ek = u_e·u_k / E; otherwise from a dense L0⁺.
class GradientProjector {
 public:
  explicit GradientProjector(const Complex& cx)
      : m_cx(cx), m_complete(detail::is_complete_graph(cx)) {
    if (m_complete || cx.vertex_count == 0) return;
    // L0⁺ = (L0 + J)⁻¹ − J with J the projector onto the component indicators (L0's null
    // space): L0 + J is positive definite and acts as L0 on the complement, as 1 on null space.
    const int n = cx.vertex_count;
    int components = 0;
    const std::vector<int> label = detail::component_labels(cx, components);
    std::vector<int> size(static_cast<std::size_t>(components), 0);
    for (int v = 0; v < n; ++v) ++size[label[v]];
    Eigen::MatrixXd l0 = Eigen::MatrixXd::Zero(n, n);
    for (const auto& e : cx.edges) {
      l0(e[0], e[0]) += 1;
      l0(e[1], e[1]) += 1;
      l0(e[0], e[1]) -= 1;
      l0(e[1], e[0]) -= 1;
    }
    Eigen::MatrixXd j = Eigen::MatrixXd::Zero(n, n);
    for (int u = 0; u < n; ++u)
      for (int v = 0; v < n; ++v)
        if (label[u] == label[v]) j(u, v) = 1.0 / size[label[u]];
    m_pinv = Eigen::LLT<Eigen::MatrixXd>(l0 + j).solve(Eigen::MatrixXd::Identity(n, n)) - j;
  }

  double entry(int e, int k) const {
    const int te = m_cx.edges[e][0], he = m_cx.edges[e][1];
    const int tk = m_cx.edges[k][0], hk = m_cx.edges[k][1];
    if (m_complete) {
      const double dot = (he == hk) + (te == tk) - (he == tk) - (te == hk);
      return dot / m_cx.vertex_count;
    }
    return m_pinv(he, hk) - m_pinv(he, tk) - m_pinv(te, hk) + m_pinv(te, tk);
  }

  // P_grad x for an edge signal x: B1ᵀ L0⁺ B1 x.
  Eigen::VectorXd gradient_of(const Eigen::VectorXd& x) const {
    Eigen::VectorXd b1x, out;
    detail::apply_b1(m_cx, x, b1x);
    const Eigen::VectorXd potential =
        m_complete ? Eigen::VectorXd(b1x / m_cx.vertex_count) : Eigen::VectorXd(m_pinv * b1x);
    detail::apply_b1t(m_cx, potential, out);
    return out;
  }

  // (G D² G)_ee for every edge, D = diag(f): u_eᵀ L0⁺ Lw L0⁺ u_e with Lw = B1 D² B1ᵀ.
  Eigen::VectorXd gradient_energy(const Eigen::VectorXd& f) const {
    const int n = m_cx.vertex_count;
    const auto m = static_cast<Eigen::Index>(m_cx.edges.size());
    Eigen::VectorXd out(m);
    if (m_complete) {
      // L0⁺ Lw L0⁺ = Lw / E² because Lw 1 = 0; u_eᵀ Lw u_e = d_tail + d_head + 2 f_e², d the
      // weighted degree Σ_{k∋v} f_k².
      Eigen::VectorXd degree = Eigen::VectorXd::Zero(n);
      for (Eigen::Index e = 0; e < m; ++e) {
        degree[m_cx.edges[e][0]] += f[e] * f[e];
        degree[m_cx.edges[e][1]] += f[e] * f[e];
      }
      const double scale = 1.0 / (static_cast<double>(n) * n);
      for (Eigen::Index e = 0; e < m; ++e)
        out[e] = scale * (degree[m_cx.edges[e][0]] + degree[m_cx.edges[e][1]] + 2 * f[e] * f[e]);
      return out;
    }
    Eigen::MatrixXd lw = Eigen::MatrixXd::Zero(n, n);
    for (Eigen::Index e = 0; e < m; ++e) {
      const int a = m_cx.edges[e][0], b = m_cx.edges[e][1];
      const double w = f[e] * f[e];
      lw(a, a) += w;
      lw(b, b) += w;
      lw(a, b) -= w;
      lw(b, a) -= w;
    }
    const Eigen::MatrixXd a = m_pinv * lw * m_pinv;
    for (Eigen::Index e = 0; e < m; ++e) {
      const int t = m_cx.edges[e][0], h = m_cx.edges[e][1];
      out[e] = a(t, t) + a(h, h) - 2 * a(t, h);
    }
    return out;
  }

 private:
  const Complex& m_cx;
  bool m_complete;
  Eigen::MatrixXd m_pinv;  // E×E L0⁺, only off the complete graph
};

// The curl projector C = B2 (B2ᵀB2)⁺ B2ᵀ restricted to the edges on filled triangles (it is
// zero elsewhere), dense: A×A, rows and columns in the order of `active`.
Eigen::MatrixXd curl_projector(const std::vector<std::array<int, 3>>& tri,
                               const std::vector<int>& active, const std::vector<int>& local) {
  const auto a_count = static_cast<Eigen::Index>(active.size());
  const auto t_count = static_cast<Eigen::Index>(tri.size());
  Eigen::MatrixXd b2 = Eigen::MatrixXd::Zero(a_count, t_count);
  for (Eigen::Index t = 0; t < t_count; ++t) {
    const auto& e = tri[static_cast<std::size_t>(t)];
    b2(local[e[0]], t) = 1.0;
    b2(local[e[1]], t) = -1.0;
    b2(local[e[2]], t) = 1.0;
  }
  // Eigen-decompose the smaller Gram matrix. Its entries are small integers, so a rank cut at
  // 1e-9 of the largest eigenvalue separates the true zeros (~1e-15) from the rest.
  if (t_count <= a_count) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(b2.transpose() * b2);
    const Eigen::VectorXd& lambda = eig.eigenvalues();
    const double cut = 1e-9 * std::max(1.0, lambda.maxCoeff());
    std::vector<Eigen::Index> keep;
    for (Eigen::Index i = 0; i < lambda.size(); ++i)
      if (lambda[i] > cut) keep.push_back(i);
    Eigen::MatrixXd w(a_count, static_cast<Eigen::Index>(keep.size()));
    for (std::size_t r = 0; r < keep.size(); ++r)
      w.col(static_cast<Eigen::Index>(r)) =
          b2 * eig.eigenvectors().col(keep[r]) / std::sqrt(lambda[keep[r]]);
    return w * w.transpose();
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(b2 * b2.transpose());
  const Eigen::VectorXd& lambda = eig.eigenvalues();
  const double cut = 1e-9 * std::max(1.0, lambda.maxCoeff());
  Eigen::MatrixXd c = Eigen::MatrixXd::Zero(a_count, a_count);
  for (Eigen::Index i = 0; i < lambda.size(); ++i)
    if (lambda[i] > cut) c += eig.eigenvectors().col(i) * eig.eigenvectors().col(i).transpose();
  return c;
}

// Monte Carlo estimate of the curl terms for complexes whose exact curl terms would cost too
// much. Per seeded sign vector z: u = R(z∘f) with R = I − P_grad (exact, cheap) and
// v = P_curl u (a CGLS solve). E[u_e²] is known exactly, so only the curl corrections are
// sampled (a control variate): harmonic_e = E[u_e²] + mean(v_e² − 2 u_e v_e), curl_e =
// mean(v_e²). Samples are independent of expert numbering only in distribution.
void sample_curl_terms(const Complex& complex, const GradientProjector& g,
                       const std::vector<std::array<int, 3>>& tri, ExpectedEnergies& out) {
  const auto m = static_cast<Eigen::Index>(complex.edges.size());
  Eigen::MatrixXd u(m, kExpectedSamples);
  SplitMix64 rng(0x4843u);  // fixed seed: the estimate is reproducible, natively and in WASM
  Eigen::VectorXd z(m);
  for (int sample = 0; sample < kExpectedSamples; ++sample) {
    for (Eigen::Index e = 0; e < m; ++e)
      z[e] = (rng.next() & 1) ? -complex.signal[e] : complex.signal[e];
    u.col(sample) = z - g.gradient_of(z);
  }
  const Eigen::MatrixXd v = detail::curl_projections(complex, tri, u, 1e-6);
  out.curl = v.cwiseAbs2().rowwise().mean();
  out.harmonic += (v.cwiseAbs2() - 2.0 * u.cwiseProduct(v)).rowwise().mean();
}

}  // namespace

Result<ExpectedEnergies> expected_hodge_energies(const Complex& complex) {
  HC_TRY_STATUS(detail::check_complex(complex));
  const auto m = static_cast<Eigen::Index>(complex.edges.size());
  const std::vector<std::array<int, 3>> tri = triangle_edges(complex);
  for (const auto& t : tri)
    if (t[0] < 0 || t[1] < 0 || t[2] < 0)
      return make_error(ErrorCode::InvalidArgument, "complex: filled triangle with a missing edge");

  const Eigen::VectorXd& f = complex.signal;
  const GradientProjector g(complex);
  ExpectedEnergies out;
  out.gradient = g.gradient_energy(f);
  out.curl = Eigen::VectorXd::Zero(m);
  out.harmonic.resize(m);
  // Σ_k (δ_ek − G_ek − C_ek)² f_k² = f_e² − 2 G_ee f_e² + (G D² G)_ee
  //                                − 2 C_ee f_e² + (C D² C)_ee + 2 (G D² C)_ee   (G, C symmetric)
  for (Eigen::Index e = 0; e < m; ++e) {
    const double ff = f[e] * f[e];
    out.harmonic[e] =
        ff - 2 * g.entry(static_cast<int>(e), static_cast<int>(e)) * ff + out.gradient[e];
  }
  std::vector<int> active, local(static_cast<std::size_t>(m), -1);
  for (const auto& t : tri)
    for (int e : t)
      if (local[e] < 0) {
        local[e] = static_cast<int>(active.size());
        active.push_back(e);
      }
  const double a_count_d = static_cast<double>(active.size());
  const double rank_bound = std::min(a_count_d, static_cast<double>(tri.size()));
  if (a_count_d * a_count_d * rank_bound > kExactCurlBudget) {
    out.sampled = true;
    sample_curl_terms(complex, g, tri, out);
  } else if (!tri.empty()) {
    const Eigen::MatrixXd c = curl_projector(tri, active, local);
    const auto a_count = static_cast<Eigen::Index>(active.size());
    Eigen::VectorXd ff(a_count);
    for (Eigen::Index j = 0; j < a_count; ++j) ff[j] = f[active[j]] * f[active[j]];
    for (Eigen::Index i = 0; i < a_count; ++i) {
      const int e = active[i];
      double cdc = 0.0, gdc = 0.0;
      for (Eigen::Index j = 0; j < a_count; ++j) {
        const double cij = c(j, i);
        cdc += cij * cij * ff[j];
        gdc += g.entry(e, active[j]) * ff[j] * cij;
      }
      out.curl[e] = cdc;
      out.harmonic[e] += -2 * c(i, i) * f[e] * f[e] + cdc + 2 * gdc;
    }
  }
  // Cancellation leaves rounding-sized values (either sign) where a part is exactly zero.
  const double floor = 1e-13 * f.squaredNorm();
  for (Eigen::VectorXd* part : {&out.gradient, &out.curl, &out.harmonic})
    for (Eigen::Index e = 0; e < m; ++e)
      if ((*part)[e] < floor) (*part)[e] = 0.0;
  return out;
}

}  // namespace hc
