// The kl_lens top-m support (docs/LENS_SUPPORT.md): each token's most probable entries and a
// sample of its tail, built once per layer, and the KL of a changed row evaluated on them.
#include <algorithm>
#include <limits>
#include <utility>

#include "hc/native/barriers.hpp"
#include "hc/native/forward_ops.hpp"

namespace hc::native {
namespace {

// Tokens whose full-vocabulary logits are formed at once while building the supports.
constexpr int64_t kPrepareRows = 64;
// Rows whose normed-state change and KL sums are formed at once (fp64 temporaries [rows, H]
// and [rows, m + r]).
constexpr int64_t kShiftChunkRows = 4096;

}  // namespace

const char* lens_support_name(LensSupport support) {
  switch (support) {
    case LensSupport::Auto:
      return "auto";
    case LensSupport::Full:
      return "full";
    case LensSupport::TopM:
      return "top-m";
  }
  return "unknown";
}

hc::Result<LensSupport> parse_lens_support(const std::string& name) {
  for (LensSupport support : {LensSupport::Auto, LensSupport::Full, LensSupport::TopM}) {
    if (name == lens_support_name(support)) return support;
  }
  return hc::make_error(hc::ErrorCode::InvalidArgument, name + ": expected auto, full or top-m");
}

LensSupport resolve_lens_support(const LensSupportOptions& options, std::int64_t vocab) {
  if (options.kind != LensSupport::Auto) return options.kind;
  // Below this the support and its sample are a large part of the vocabulary, and grouping
  // the rows by token costs more than the products it saves (docs/LENS_SUPPORT.md).
  const std::int64_t columns =
      std::int64_t(std::max(options.max_support, 1)) + std::max(options.tail_samples, 0);
  return vocab >= 4 * columns ? LensSupport::TopM : LensSupport::Full;
}

void LayerBarriers::prepare_top_m() const {
  if (m_support.defined()) return;
  const double eps = m_model->spec().rms_norm_eps;
  const int64_t vocab = m_head.size(0);
  const int64_t m = std::min<int64_t>(m_lens.max_support, vocab);
  std::vector<at::Tensor> support, support_logp, tail_logmass, tail_row;
  for (int64_t row = 0; row < m_tokens; row += kPrepareRows) {
    const int64_t n = std::min(kPrepareRows, m_tokens - row);
    const at::Tensor normed =
        detail::rms_norm(m_output.narrow(0, row, n), m_norm_weight, eps).to(m_head.scalar_type());
    // Logits and their log-partition in fp32; renormalised in fp64 below, so that the
    // support's probabilities and the tail's mass sum to 1 far below any barrier (fp32
    // rounding alone leaves ~1e-7, which would add directly to a barrier).
    const at::Tensor logits = at::linear(normed, m_head).to(at::kFloat);
    const at::Tensor lse = at::logsumexp(logits, {-1}, /*keepdim=*/true).to(at::kDouble);
    auto [top_logit, index] = at::topk(logits, m, -1, /*largest=*/true, /*sorted=*/true);
    const at::Tensor top = top_logit.to(at::kDouble) - lse;
    // Entries join while the mass before them is below 1 - tail_mass (the first always joins).
    const at::Tensor top_p = top.exp();
    const at::Tensor inside = (at::cumsum(top_p, -1) - top_p) < (1.0 - m_lens.tail_mass);
    at::Tensor p = (logits - lse.to(at::kFloat)).exp_();  // the tail only, below
    p.scatter_(1, index, at::where(inside, at::zeros_like(top_p), top_p).to(at::kFloat));
    // The tail's sample: entries at evenly spaced points of its cumulative mass (systematic
    // sampling in proportion to p, in vocabulary order: deterministic).
    const int64_t r = m_lens.tail_samples;
    const at::Tensor tail_mass = p.sum(-1, /*keepdim=*/true, at::kDouble);
    if (r > 0) {
      const at::Tensor cdf = at::cumsum(p, -1);
      const at::Tensor points =
          (at::arange(r, cdf.options()) + 0.5) / double(r) * tail_mass.to(at::kFloat);
      index = at::cat({index, at::searchsorted(cdf, points).clamp_max(vocab - 1)}, 1);
    }
    support.push_back(index);
    const at::Tensor kept = at::where(inside, top, -std::numeric_limits<double>::infinity());
    const at::Tensor log_tail = tail_mass.log();
    const at::Tensor norm = at::logsumexp(at::cat({kept, log_tail}, 1), {1}, /*keepdim=*/true);
    support_logp.push_back(kept - norm);
    tail_logmass.push_back((log_tail - norm).squeeze(1));
    tail_row.push_back(at::mm(p.to(m_head.scalar_type()), m_head).to(at::kDouble) / norm.exp());
  }
  m_support = at::cat(support);
  m_support_logp = at::cat(support_logp);
  m_tail_logmass = at::cat(tail_logmass);
  m_tail_row = at::cat(tail_row);
}

std::pair<double, double> LayerBarriers::top_m_support() const {
  if (!m_support.defined() || m_tokens == 0) return {0.0, 0.0};
  const double size = at::isfinite(m_support_logp).sum().item<double>() / double(m_tokens);
  return {size, m_tail_logmass.exp().mean().item<double>()};
}

at::Tensor LayerBarriers::support_logit_change(const at::Tensor& tok,
                                               const at::Tensor& shift) const {
  // One product per token shared by all of its rows: the rows are grouped by token (tokens
  // with the most rows first, so that padding each chunk to its largest group wastes little),
  // and each chunk of tokens multiplies its gathered LM-head rows [u, m, H] by its padded
  // shifts [u, H, c] in one batched product.
  const int64_t rows = shift.size(0), hidden = shift.size(1), m = m_support.size(1);
  const at::Tensor shift_h = shift.to(m_head.scalar_type());
  auto [unique, inverse, counts] = at::_unique2(tok, /*sorted=*/true, /*return_inverse=*/true,
                                                /*return_counts=*/true);
  const at::Tensor by_count = at::argsort(counts, /*stable=*/true, 0, /*descending=*/true);
  const at::Tensor rank = at::empty_like(by_count).scatter_(
      0, by_count, at::arange(by_count.size(0), by_count.options()));
  const at::Tensor row_rank = rank.index_select(0, inverse);
  const at::Tensor order = at::argsort(row_rank, /*stable=*/true, 0, /*descending=*/false);
  const at::Tensor sorted_rank = row_rank.index_select(0, order);
  const at::Tensor sorted_counts = counts.index_select(0, by_count);
  const at::Tensor first = at::cumsum(sorted_counts, 0) - sorted_counts;
  const at::Tensor slot = at::arange(rows, order.options()) - first.index_select(0, sorted_rank);
  const at::Tensor sorted_tokens = unique.index_select(0, by_count);
  const at::Tensor counts_cpu = sorted_counts.to(at::kCPU).contiguous();
  const int64_t* count = counts_cpu.data_ptr<int64_t>();
  const int64_t groups = counts_cpu.size(0);
  at::Tensor dz_sorted = at::empty({rows, m}, shift_h.options());
  constexpr int64_t kChunkElements = int64_t(1) << 24;
  for (int64_t a = 0, row = 0; a < groups;) {
    const int64_t width = count[a];  // the chunk's largest group
    const int64_t per_token = (m + width) * hidden;
    const int64_t b = std::min(groups, a + std::max<int64_t>(1, kChunkElements / per_token));
    int64_t n = 0;
    for (int64_t g = a; g < b; ++g) n += count[g];
    const at::Tensor w =
        m_head
            .index_select(0, m_support.index_select(0, sorted_tokens.slice(0, a, b)).reshape({-1}))
            .view({b - a, m, hidden});
    const at::Tensor local = sorted_rank.slice(0, row, row + n) - a;
    const at::Tensor where = slot.slice(0, row, row + n);
    at::Tensor x = at::zeros({b - a, width, hidden}, shift_h.options());
    x.index_put_({local, where}, shift_h.index_select(0, order.slice(0, row, row + n)));
    const at::Tensor product = at::bmm(w, x.transpose(1, 2)).transpose(1, 2);  // [u, c, m]
    dz_sorted.slice(0, row, row + n).copy_(product.index({local, where}));
    a = b;
    row += n;
  }
  return at::empty_like(dz_sorted).index_copy_(0, order, dz_sorted);
}

at::Tensor LayerBarriers::kl_top_m(const at::Tensor& tok, const at::Tensor& base,
                                   const at::Tensor& delta) const {
  // log sum_v p_v e^{dz_v} - sum_v p_v dz_v with the sums split into the support S and the
  // tail. sum_tail p_v dz_v = (sum_tail p_v W_v) . shift exactly; in the log-partition the tail
  // enters as p_T e^{mu}, mu its p-weighted mean dz (Jensen: never above the true tail term).
  // Without a tail sample the result is the KL of the distributions coarsened to S + one
  // bucket: >= 0 and <= the full KL, equal to it to first order in the tail; the sample adds
  // the tail's spread (below), so the value stays >= 0 but is no longer a bound.
  at::Tensor shift = at::empty(base.sizes(), base.options().dtype(at::kDouble));
  for (int64_t r = 0; r < shift.size(0); r += kShiftChunkRows) {
    const int64_t n = std::min(kShiftChunkRows, shift.size(0) - r);
    shift.narrow(0, r, n).copy_(normed_shift(base.narrow(0, r, n), delta.narrow(0, r, n)));
  }
  const at::Tensor dz_batch = support_logit_change(tok, shift);
  // The sums in fp64, a bounded number of rows at a time.
  const int64_t m = m_support_logp.size(1);
  at::Tensor kl = at::empty({tok.size(0)}, shift.options());
  for (int64_t r = 0; r < tok.size(0); r += kShiftChunkRows) {
    const int64_t n = std::min(kShiftChunkRows, tok.size(0) - r);
    const at::Tensor t = tok.narrow(0, r, n);
    const at::Tensor dz_all = dz_batch.narrow(0, r, n).to(at::kDouble);
    const at::Tensor dz = dz_all.narrow(1, 0, m);
    const at::Tensor lp = m_support_logp.index_select(0, t);
    const at::Tensor log_tail = m_tail_logmass.index_select(0, t);
    const at::Tensor tail_dot = (m_tail_row.index_select(0, t) * shift.narrow(0, r, n)).sum(-1);
    const at::Tensor has_tail = log_tail > -std::numeric_limits<double>::infinity();
    const at::Tensor mu = at::where(has_tail, tail_dot / log_tail.exp(), at::zeros_like(tail_dot));
    // The tail's second order from its sample x = dz - mu (mean 0 under the tail exactly):
    // E[e^x] ~ mean(e^x - x), which is >= 1, so the term stays at or above Jensen's.
    at::Tensor log_tail_term = log_tail + mu;
    if (dz_all.size(1) > m) {
      const at::Tensor x = dz_all.narrow(1, m, dz_all.size(1) - m) - mu.unsqueeze(1);
      log_tail_term = log_tail_term + (x.exp() - x).mean(1).log();
    }
    const at::Tensor log_z = at::logsumexp(at::cat({lp + dz, log_tail_term.unsqueeze(1)}, 1), {1});
    // exp(-inf) * dz is 0 for entries past a token's support (dz is finite).
    kl.narrow(0, r, n).copy_(log_z - ((lp.exp() * dz).sum(-1) + tail_dot));
  }
  return kl;
}

}  // namespace hc::native
