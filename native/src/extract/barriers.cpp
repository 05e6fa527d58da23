// LayerBarriers: expert statistics and batched group merge barriers of one MoE layer
// (kl_lens, kl_full, output_l2), from a LayerObservation and the layer's expert weights.
// The kl_lens top-m support is evaluated in lens_top_m.cpp.
#include "hc/native/barriers.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "hc/merge.hpp"
#include "hc/native/forward_ops.hpp"

namespace hc::native {
namespace {

// Rows of perturbed residual streams scored through the LM head per batch: large enough for
// efficient products, small enough that [rows, V] temporaries stay below glibc's mmap
// threshold for typical vocabularies (page-fault churn otherwise dominates).
constexpr int64_t kHeadBatchRows = 512;
// The unperturbed log-probabilities of every token are cached when [T, V] fits in this many
// elements (1 GiB of fp32); otherwise they are recomputed per batch.
constexpr int64_t kBaseCacheElements = int64_t(1) << 28;
// Top-m scoring batches up to this many elements of output changes [rows, H] (1 GiB in fp64):
// a token's gathered LM-head rows are shared by all of its rows in a batch, so batches are made
// large enough to hold many rows of every token.
constexpr int64_t kTopMBatchElements = int64_t(1) << 27;
// Rows whose KL sums over the vocabulary are formed in fp64 at once.
constexpr int64_t kKlChunkRows = 64;

// log_softmax(lm_head(final_norm(h))) for rows h [n, H]: the product in the head's dtype, the
// softmax in fp32.
at::Tensor head_logp(const at::Tensor& h, const at::Tensor& norm_weight, const at::Tensor& head,
                     double eps) {
  const at::Tensor normed = detail::rms_norm(h, norm_weight, eps).to(head.scalar_type());
  return at::log_softmax(at::linear(normed, head).to(at::kFloat), -1);
}

// The expert MLP with weights and input in `dtype`; the result in fp64 when `dtype` is fp64,
// else fp32.
at::Tensor expert_mlp_in(const MoeModelSpec& spec, const detail::ExpertWeights& w,
                         const at::Tensor& x, at::ScalarType dtype) {
  if (dtype == at::kFloat) return detail::expert_mlp(spec, detail::expert_weights_as(w, dtype), x);
  const at::ScalarType result = dtype == at::kDouble ? at::kDouble : at::kFloat;
  detail::ExpertWeights cast;
  for (auto [from, to] : {std::pair{&w.gate, &cast.gate},
                          {&w.up, &cast.up},
                          {&w.down, &cast.down},
                          {&w.gate_bias, &cast.gate_bias},
                          {&w.up_bias, &cast.up_bias},
                          {&w.down_bias, &cast.down_bias}}) {
    if (from->defined()) *to = from->to(dtype);
  }
  return detail::expert_mlp(spec, cast, x.to(dtype)).to(result);
}

// Allows TF32 tensor-core products while alive, restoring the previous setting.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool enable) : m_previous(at::globalContext().allowTF32CuBLAS()) {
    if (enable) at::globalContext().setAllowTF32CuBLAS(true);
  }
  ~Tf32Scope() { at::globalContext().setAllowTF32CuBLAS(m_previous); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool m_previous;
};

}  // namespace

const char* compute_dtype_name(ComputeDtype dtype) {
  switch (dtype) {
    case ComputeDtype::Fp32:
      return "fp32";
    case ComputeDtype::Tf32:
      return "tf32";
    case ComputeDtype::Bf16:
      return "bf16";
  }
  return "unknown";
}

hc::Result<ComputeDtype> parse_compute_dtype(const std::string& name, at::Device device) {
  if (name == "auto") return device.is_cuda() ? kGpuDefaultDtype : ComputeDtype::Fp32;
  for (ComputeDtype dtype : {ComputeDtype::Fp32, ComputeDtype::Tf32, ComputeDtype::Bf16}) {
    if (name != compute_dtype_name(dtype)) continue;
    if (dtype == ComputeDtype::Tf32 && !device.is_cuda()) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            "tf32: TF32 products exist on CUDA devices only; use fp32 or bf16");
    }
    return dtype;
  }
  return hc::make_error(hc::ErrorCode::InvalidArgument,
                        name + ": expected auto, fp32, tf32 or bf16");
}

const char* barrier_name(BarrierKind kind) {
  switch (kind) {
    case BarrierKind::KlLens:
      return "kl_lens";
    case BarrierKind::KlFull:
      return "kl_full";
    case BarrierKind::OutputL2:
      return "output_l2";
  }
  return "unknown";
}

hc::Result<BarrierKind> parse_barrier(const std::string& name) {
  for (BarrierKind kind : {BarrierKind::KlLens, BarrierKind::KlFull, BarrierKind::OutputL2}) {
    if (name == barrier_name(kind)) return kind;
  }
  return hc::make_error(hc::ErrorCode::InvalidArgument,
                        name + ": expected kl_lens, kl_full or output_l2");
}

const std::string& head_name(const MoeModelSpec& spec) {
  return spec.lm_head.empty() ? spec.embed_tokens : spec.lm_head;
}

hc::Result<LayerBarriers> LayerBarriers::create(const ForwardModel& model,
                                                const LayerObservation& observation,
                                                BarrierKind kind, const FullModelContext* full,
                                                const BarrierOptions& options) {
  const MoeModelSpec& spec = model.spec();
  if (!observation.moe || !observation.selected.defined() || !observation.output.defined()) {
    return hc::make_error(
        hc::ErrorCode::InvalidArgument,
        "barriers: layer " + std::to_string(observation.layer) + " has no routed experts");
  }
  if (kind == BarrierKind::KlFull && (full == nullptr || full->model == nullptr)) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "barriers: kl_full needs the model");
  }
  const LayerSpec& layer = spec.layers.at(static_cast<std::size_t>(observation.layer));
  const at::Device device = model.device();
  LayerBarriers b;
  b.m_model = &model;
  b.m_full = full;
  b.m_kind = kind;
  // A merged expert's output change is a difference of two nearly equal outputs: in fp32 their
  // rounding would be a visible part of it, so fp32 runs form it in fp64 (the expert MLPs are a
  // small part of the work next to the LM head). bf16 runs take bf16 throughout.
  b.m_dtype = options.dtype == ComputeDtype::Bf16 ? at::kBFloat16 : at::kFloat;
  b.m_mlp_dtype = options.dtype == ComputeDtype::Bf16 ? at::kBFloat16 : at::kDouble;
  b.m_tf32 = options.dtype == ComputeDtype::Tf32;
  b.m_collective = options.collective;
  b.m_lens = options.lens;
  b.m_lens.kind = resolve_lens_support(options.lens, spec.vocab_size);
  if (b.m_lens.kind == LensSupport::TopM &&
      (!(b.m_lens.tail_mass >= 0.0 && b.m_lens.tail_mass < 1.0) || b.m_lens.max_support < 1 ||
       b.m_lens.tail_samples < 0)) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "barriers: the top-m support needs a tail mass in [0, 1), at least "
                          "one entry and a non-negative tail sample");
  }
  b.m_layer = observation.layer;
  b.m_x = observation.x.to(at::kFloat);
  b.m_output = observation.output.to(at::kFloat);
  b.m_tokens = b.m_x.size(0);
  b.m_logits = observation.router_logits.to(at::kFloat);
  b.m_probs = observation.router_probs.to(at::kFloat);
  b.m_selected = observation.selected;
  b.m_gates = observation.gates.to(at::kFloat);
  b.m_sample_rows = options.router_sample;
  b.m_token_offset = options.token_offset;
  try {
    const Checkpoint& ck = model.checkpoint();
    detail::FusedCache fused;
    for (int e = 0; e < spec.num_experts; ++e) {
      detail::ExpertWeights w = detail::load_expert(spec, layer, ck, e, device, fused);
      for (at::Tensor* t : {&w.gate, &w.up, &w.down, &w.gate_bias, &w.up_bias, &w.down_bias}) {
        if (t->defined()) *t = t->contiguous();  // own copies: the fused tensors are dropped
      }
      b.m_weights.push_back(std::move(w));
    }
    if (!layer.correction_bias.empty()) {
      b.m_correction = detail::load_tensor(ck, layer.correction_bias, device);
    }
    b.m_norm_weight = options.final_norm.defined()
                          ? options.final_norm
                          : detail::load_tensor(ck, spec.final_norm, device);
    b.m_head = (options.lm_head.defined() ? options.lm_head
                                          : detail::load_tensor(ck, head_name(spec), device))
                   .to(b.m_dtype);
  } catch (...) {
    return error_from_exception(std::current_exception(),
                                "barriers: layer " + std::to_string(observation.layer));
  }

  // Each expert's routed tokens (ascending), gates and outputs; the routed MoE output energy.
  const at::Tensor selected = observation.selected.to(at::kCPU);
  const at::Tensor gates = observation.gates.to(at::kFloat);
  at::Tensor routed_sum = at::zeros_like(b.m_x);
  std::vector<double> totals;  // per expert routed tokens, then tokens, then output energy
  for (int e = 0; e < spec.num_experts; ++e) {
    const at::Tensor hits = at::nonzero(selected == e);  // [n, 2] token, slot; tokens ascending
    const at::Tensor tok = hits.select(1, 0).contiguous().to(device);
    const at::Tensor slot = hits.select(1, 1).contiguous().to(device);
    const at::Tensor g = gates.index_select(0, tok).gather(1, slot.unsqueeze(1)).squeeze(1);
    const at::Tensor xe = b.m_x.index_select(0, tok);
    const auto& w = b.m_weights[static_cast<std::size_t>(e)];
    const detail::ExpertWeights w32 = detail::expert_weights_as(w, at::kFloat);
    const at::Tensor inner = detail::expert_inner(spec, w32, xe);
    const at::Tensor y = w32.down_bias.defined() ? at::linear(inner, w32.down, w32.down_bias)
                                                 : at::linear(inner, w32.down);
    routed_sum.index_add_(0, tok, y * g.unsqueeze(1));
    b.m_routed.push_back(tok);
    b.m_routed_gate.push_back(g);
    b.m_routed_norm.push_back(y.to(at::kDouble).norm(2, {1}));
    // Merged outputs are computed in the product dtype; the originals they are compared with
    // must be too, or rounding alone would read as a barrier.
    b.m_routed_out.push_back(expert_mlp_in(spec, w, xe, b.m_mlp_dtype));
    b.m_inner_sqnorm.push_back(inner.pow(2).sum(0, false, at::kDouble));
    totals.push_back(static_cast<double>(tok.size(0)));
  }
  totals.push_back(static_cast<double>(b.m_tokens));
  totals.push_back(routed_sum.pow(2).sum(at::kDouble).item<double>());
  if (b.m_collective != nullptr) {
    HC_TRY_STATUS(b.m_collective->sum(
        totals, "summing the routed-token counts of layer " + std::to_string(b.m_layer)));
  }
  b.m_all_routed.assign(totals.begin(), totals.begin() + spec.num_experts);
  b.m_all_tokens = totals[static_cast<std::size_t>(spec.num_experts)];
  b.m_output_energy = totals.back();
  for (double n : b.m_all_routed) {
    b.m_frequency.push_back(b.m_all_tokens > 0.0 ? static_cast<float>(n / b.m_all_tokens) : 0.0f);
  }
  return b;
}

hc::Status LayerBarriers::fill_expert_stats(hc::LayerStats& stats) const {
  const int e_count = experts();
  const auto experts_n = static_cast<std::size_t>(e_count);
  const int64_t hidden = m_x.size(1), inner = m_weights.front().gate.size(0);
  // This rank's sums, in one vector so that one reduction serves them all: gate, ||y||,
  // gate * ||y|| per expert, then the input and inner square norms.
  // Then the router score sums [E] and the router sample [N, E] (this rank's rows; zeros
  // elsewhere, so the reduction assembles it).
  const auto all_tokens = static_cast<std::int64_t>(m_all_tokens);
  const auto sample_rows = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(m_sample_rows), all_tokens));
  const std::size_t wanda_values = experts_n * static_cast<std::size_t>(hidden + inner);
  std::vector<double> sums(3 * experts_n + wanda_values + experts_n + sample_rows * experts_n);
  double* const gate_sum = sums.data();
  double* const norm_sum = gate_sum + experts_n;
  double* const reap_sum = norm_sum + experts_n;
  double* const input_sq = reap_sum + experts_n;
  double* const inner_sq = input_sq + experts_n * static_cast<std::size_t>(hidden);
  for (std::size_t i = 0; i < experts_n; ++i) {
    const at::Tensor g = m_routed_gate[i].to(at::kDouble);
    gate_sum[i] = g.sum().item<double>();
    norm_sum[i] = m_routed_norm[i].sum().item<double>();
    reap_sum[i] = (g * m_routed_norm[i]).sum().item<double>();
    const at::Tensor in_sq =
        m_x.index_select(0, m_routed[i]).pow(2).sum(0, false, at::kDouble).to(at::kCPU);
    const at::Tensor mid_sq = m_inner_sqnorm[i].to(at::kDouble).to(at::kCPU).contiguous();
    std::copy_n(in_sq.contiguous().data_ptr<double>(), hidden,
                input_sq + i * static_cast<std::size_t>(hidden));
    std::copy_n(mid_sq.data_ptr<double>(), inner, inner_sq + i * static_cast<std::size_t>(inner));
  }
  double* const prob_sum = inner_sq + experts_n * static_cast<std::size_t>(inner);
  double* const sample = prob_sum + experts_n;
  if (m_probs.defined() && m_tokens > 0) {
    const at::Tensor p = m_probs.sum(0, false, at::kDouble).to(at::kCPU).contiguous();
    std::copy_n(p.data_ptr<double>(), experts_n, prob_sum);
  }
  if (sample_rows > 0 && m_logits.defined()) {
    // Only the sampled rows this rank holds leave the device.
    std::vector<std::size_t> slots;
    std::vector<std::int64_t> local_rows;
    for (std::size_t i = 0; i < sample_rows; ++i) {
      const auto global =
          static_cast<std::int64_t>(i) * all_tokens / static_cast<std::int64_t>(sample_rows);
      const std::int64_t local = global - m_token_offset;
      if (local < 0 || local >= m_tokens) continue;
      slots.push_back(i);
      local_rows.push_back(local);
    }
    if (!slots.empty()) {
      const at::Tensor picked =
          m_logits.index_select(0, at::tensor(local_rows, at::kLong).to(m_logits.device()))
              .to(at::kCPU, at::kDouble)
              .contiguous();
      const double* rows = picked.data_ptr<double>();
      for (std::size_t r = 0; r < slots.size(); ++r) {
        std::copy_n(rows + r * experts_n, experts_n, sample + slots[r] * experts_n);
      }
    }
  }
  if (m_collective != nullptr) {
    HC_TRY_STATUS(m_collective->sum(
        sums, "summing the expert statistics of layer " + std::to_string(m_layer)));
  }
  const double t = m_all_tokens;
  stats.experts = e_count;
  stats.frequency = m_frequency;
  stats.gate_mass.assign(experts_n, 0.0f);
  stats.reap.assign(experts_n, 0.0f);
  stats.ean.assign(experts_n, 0.0f);
  for (std::size_t i = 0; i < experts_n; ++i) {
    stats.gate_mass[i] = static_cast<float>(gate_sum[i] / t);
    stats.ean[i] = static_cast<float>(norm_sum[i] / t);
    stats.reap[i] =
        m_all_routed[i] == 0.0 ? 0.0f : static_cast<float>(reap_sum[i] / m_all_routed[i]);
  }
  stats.input_sqnorm.assign(input_sq, input_sq + experts_n * static_cast<std::size_t>(hidden));
  stats.input_sqnorm_cols = static_cast<std::size_t>(hidden);
  stats.inner_sqnorm.assign(inner_sq, inner_sq + experts_n * static_cast<std::size_t>(inner));
  stats.inner_sqnorm_cols = static_cast<std::size_t>(inner);
  if (m_probs.defined()) {
    stats.router_prob.resize(experts_n);
    for (std::size_t i = 0; i < experts_n; ++i) {
      stats.router_prob[i] = static_cast<float>(t > 0.0 ? prob_sum[i] / t : 0.0);
    }
  }
  if (sample_rows > 0 && m_logits.defined()) {
    stats.router_sample.assign(sample, sample + sample_rows * experts_n);
    stats.router_sample_rows = sample_rows;
  }
  return hc::Ok{};
}

LayerBarriers::GroupDelta LayerBarriers::group_delta(const std::vector<int>& group) const {
  // The merge operator (hc/merge.hpp): weights and biases, where the family has them, blended
  // with π ∝ routing frequency.
  std::vector<double> frequencies;
  for (int e : group) frequencies.push_back(m_frequency[static_cast<std::size_t>(e)]);
  const std::vector<double> pi = hc::merge_coefficients(frequencies);
  std::vector<at::Tensor> parts;
  detail::ExpertWeights merged_w;
  const at::ScalarType blend_dtype = m_mlp_dtype == at::kDouble ? at::kDouble : at::kFloat;
  auto blend = [blend_dtype](at::Tensor& into, const at::Tensor& w, double weight) {
    if (!w.defined()) return;
    const at::Tensor part = weight * w.to(blend_dtype);
    into = into.defined() ? into + part : part;
  };
  for (std::size_t m = 0; m < group.size(); ++m) {
    const auto i = static_cast<std::size_t>(group[m]);
    const auto& w = m_weights[i];
    blend(merged_w.gate, w.gate, pi[m]);
    blend(merged_w.up, w.up, pi[m]);
    blend(merged_w.down, w.down, pi[m]);
    blend(merged_w.gate_bias, w.gate_bias, pi[m]);
    blend(merged_w.up_bias, w.up_bias, pi[m]);
    blend(merged_w.down_bias, w.down_bias, pi[m]);
    parts.push_back(m_routed[i]);
  }
  GroupDelta d;
  d.tokens = std::get<0>(at::_unique(at::cat(parts), /*sorted=*/true));
  const at::Tensor merged =
      expert_mlp_in(m_model->spec(), merged_w, m_x.index_select(0, d.tokens), m_mlp_dtype);
  d.delta = at::zeros_like(merged);
  m_evaluations += static_cast<std::uint64_t>(d.tokens.size(0));
  for (int e : group) {
    const auto i = static_cast<std::size_t>(e);
    if (m_routed[i].size(0) == 0) continue;
    const at::Tensor pos = at::searchsorted(d.tokens, m_routed[i]);
    const at::Tensor change = merged.index_select(0, pos) - m_routed_out[i];
    d.delta.index_add_(0, pos, change * m_routed_gate[i].unsqueeze(1).to(change.scalar_type()));
  }
  return d;
}

at::Tensor LayerBarriers::normed_shift(const at::Tensor& base, const at::Tensor& delta) const {
  const double eps = m_model->spec().rms_norm_eps;
  const at::Tensor weight = m_norm_weight.to(at::kDouble);
  auto norm64 = [&](const at::Tensor& h) {
    return h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
  };
  const at::Tensor b64 = base.to(at::kDouble);
  return norm64(b64 + delta.to(at::kDouble)) - norm64(b64);
}

at::Tensor LayerBarriers::kl_from_shift(const at::Tensor& logp, const at::Tensor& base,
                                        const at::Tensor& delta) const {
  // KL(p || q) with q = softmax(z + dz): log sum_v p_v e^{dz_v} - sum_v p_v dz_v. The logit
  // change dz comes from one product with the change of the normed state (formed in fp64), not
  // from two nearly equal logit vectors: their rounding (~1e-7 |z|, or 4e-3 |z| in bf16) would
  // otherwise swamp a small change.
  const at::Tensor shift = normed_shift(base, delta);
  const at::Tensor dz = at::linear(shift.to(m_head.scalar_type()), m_head).to(at::kFloat);
  // The sums over the vocabulary in fp64, a few rows at a time to bound the temporaries.
  std::vector<at::Tensor> parts;
  const int64_t rows = logp.size(0);
  for (int64_t r = 0; r < rows; r += kKlChunkRows) {
    const int64_t n = std::min(kKlChunkRows, rows - r);
    // Renormalised in fp64: fp32 log-probabilities sum to 1 only within ~1e-7, an error that
    // would add directly to a KL of that order.
    at::Tensor lp = logp.narrow(0, r, n).to(at::kDouble);
    lp = lp - at::logsumexp(lp, {-1}, /*keepdim=*/true);
    const at::Tensor d = dz.narrow(0, r, n).to(at::kDouble);
    parts.push_back(at::logsumexp(lp + d, {-1}) - (lp.exp() * d).sum(-1));
  }
  return at::cat(parts);
}

hc::Result<std::vector<float>> LayerBarriers::barriers(
    const std::vector<std::vector<int>>& groups,
    const std::function<void(std::size_t)>& done) const {
  for (const auto& group : groups) {
    bool valid = group.size() >= 2;
    for (std::size_t a = 0; a < group.size(); ++a) {
      valid = valid && group[a] >= 0 && group[a] < experts();
      for (std::size_t b = 0; b < a; ++b) valid = valid && group[a] != group[b];
    }
    if (!valid) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            "barriers: a group needs two or more distinct expert ids");
    }
  }
  return score(
      groups.size(), [&](std::size_t g) { return group_delta(groups[g]); }, done);
}

hc::Result<std::vector<float>> LayerBarriers::leave_one_out(
    const std::function<void(std::size_t)>& done) const {
  return score(
      static_cast<std::size_t>(experts()),
      [&](std::size_t e) { return leave_one_out_delta(static_cast<int>(e)); }, done);
}

hc::Result<std::vector<float>> LayerBarriers::substitutions(
    const std::function<void(std::size_t)>& done) const {
  const auto e = static_cast<std::size_t>(experts());
  std::vector<std::pair<int, int>> ordered;
  for (int i = 0; i < experts(); ++i)
    for (int j = 0; j < experts(); ++j)
      if (i != j) ordered.push_back({i, j});
  auto scored = score(
      ordered.size(),
      [&](std::size_t p) { return substitution_delta(ordered[p].first, ordered[p].second); }, done);
  if (!scored.ok()) return scored.error();
  std::vector<float> out(e * e, 0.0f);
  for (std::size_t p = 0; p < ordered.size(); ++p)
    out[static_cast<std::size_t>(ordered[p].first) * e +
        static_cast<std::size_t>(ordered[p].second)] = (*scored)[p];
  return out;
}

LayerBarriers::GroupDelta LayerBarriers::substitution_delta(int from, int to) const {
  const auto i = static_cast<std::size_t>(from);
  GroupDelta d;
  d.tokens = m_routed[i];
  const at::ScalarType out_dtype = m_mlp_dtype == at::kDouble ? at::kDouble : at::kFloat;
  if (d.tokens.size(0) == 0) {
    d.delta = at::zeros({0, m_x.size(1)}, m_x.options().dtype(out_dtype));
    return d;
  }
  m_evaluations += static_cast<std::uint64_t>(d.tokens.size(0));
  const at::Tensor replaced =
      expert_mlp_in(m_model->spec(), m_weights[static_cast<std::size_t>(to)],
                    m_x.index_select(0, d.tokens), m_mlp_dtype);
  const at::Tensor change = replaced - m_routed_out[i];
  d.delta = (change * m_routed_gate[i].unsqueeze(1).to(change.scalar_type())).to(out_dtype);
  return d;
}

LayerBarriers::GroupDelta LayerBarriers::leave_one_out_delta(int expert) const {
  const MoeModelSpec& spec = m_model->spec();
  const auto e = static_cast<std::size_t>(expert);
  GroupDelta d;
  d.tokens = m_routed[e];
  const int64_t n = d.tokens.size(0);
  const at::ScalarType out_dtype = m_mlp_dtype == at::kDouble ? at::kDouble : at::kFloat;
  d.delta = at::zeros({n, m_x.size(1)}, m_x.options().dtype(out_dtype));
  if (n == 0) return d;
  m_evaluations += static_cast<std::uint64_t>(n);
  // Weight change of every expert on these tokens: new routing (expert masked) minus old.
  at::Tensor mask = at::zeros({experts()}, at::kBool);
  mask[expert] = true;
  const Routing moved = route_masked(spec, m_logits.index_select(0, d.tokens), m_correction, mask);
  const int64_t e_count = experts();
  at::Tensor change = at::zeros({n, e_count}, m_x.options().dtype(at::kDouble));
  change.scatter_add_(1, moved.selected.to(change.device()), moved.gates.to(at::kDouble));
  change.scatter_add_(1, m_selected.index_select(0, d.tokens).to(change.device()),
                      -m_gates.index_select(0, d.tokens).to(at::kDouble));
  const at::Tensor xs = m_x.index_select(0, d.tokens);
  const at::Tensor touched = (change != 0).any(0).to(at::kCPU).contiguous();
  const bool* is_touched = touched.data_ptr<bool>();
  for (int64_t j = 0; j < e_count; ++j) {
    if (!is_touched[j]) continue;
    const at::Tensor rows = at::nonzero(change.select(1, j) != 0).squeeze(1);
    const at::Tensor y = expert_mlp_in(spec, m_weights[static_cast<std::size_t>(j)],
                                       xs.index_select(0, rows), m_mlp_dtype);
    const at::Tensor c = change.select(1, j).index_select(0, rows).to(y.scalar_type());
    d.delta.index_add_(0, rows, (y * c.unsqueeze(1)).to(out_dtype));
  }
  return d;
}

hc::Result<std::vector<float>> LayerBarriers::score(
    std::size_t count, const std::function<GroupDelta(std::size_t)>& make,
    const std::function<void(std::size_t)>& done) const {
  const double eps = m_model->spec().rms_norm_eps;
  std::vector<double> sums(count, 0.0);
  try {
    const Tf32Scope tf32(m_tf32);
    if (m_kind == BarrierKind::OutputL2) {
      for (std::size_t g = 0; g < count; ++g) {
        const GroupDelta d = make(g);
        sums[g] = d.delta.pow(2).sum(at::kDouble).item<double>();
        if (done) done(1);
      }
    } else if (m_kind == BarrierKind::KlLens) {
      // Cached across calls: pairs and triangles of a layer score against the same tokens.
      const bool top_m = m_lens.kind == LensSupport::TopM;
      if (top_m) prepare_top_m();
      at::Tensor& base_logp = m_base_logp;
      if (!top_m && !base_logp.defined() && m_tokens * m_head.size(0) <= kBaseCacheElements) {
        std::vector<at::Tensor> parts;
        for (int64_t r = 0; r < m_tokens; r += kHeadBatchRows) {
          const int64_t n = std::min(kHeadBatchRows, m_tokens - r);
          parts.push_back(head_logp(m_output.narrow(0, r, n), m_norm_weight, m_head, eps));
        }
        base_logp = at::cat(parts);
      }
      // Perturbed rows of many groups share one LM-head product. Top-m rows cost O(m·H), so
      // larger batches let the rows of one token (in every group that contains it) share one
      // product with its support rows.
      const int64_t batch_rows =
          top_m ? std::max(kHeadBatchRows, kTopMBatchElements / std::max<int64_t>(1, m_x.size(1)))
                : kHeadBatchRows;
      std::vector<at::Tensor> rows, owners;
      std::vector<int64_t> owner_ids;
      int64_t pending = 0;
      std::size_t pending_groups = 0;
      auto flush = [&] {
        if (pending == 0) return;
        const at::Tensor tok = at::cat(rows);  // token index per row
        const at::Tensor delta = at::cat(owners);
        const at::Tensor base = m_output.index_select(0, tok);
        at::Tensor kl;
        if (top_m) {
          kl = kl_top_m(tok, base, delta).to(at::kCPU);
        } else {
          const at::Tensor logp = base_logp.defined() ? base_logp.index_select(0, tok)
                                                      : head_logp(base, m_norm_weight, m_head, eps);
          kl = kl_from_shift(logp, base, delta).to(at::kCPU);
        }
        const double* values = kl.data_ptr<double>();
        for (int64_t r = 0; r < kl.size(0); ++r) {
          sums[static_cast<std::size_t>(owner_ids[static_cast<std::size_t>(r)])] += values[r];
        }
        rows.clear();
        owners.clear();
        owner_ids.clear();
        pending = 0;
        if (done) done(pending_groups);
        pending_groups = 0;
      };
      for (std::size_t g = 0; g < count; ++g) {
        GroupDelta d = make(g);
        const int64_t n = d.tokens.size(0);
        rows.push_back(d.tokens);
        owners.push_back(d.delta);
        owner_ids.insert(owner_ids.end(), static_cast<std::size_t>(n), static_cast<int64_t>(g));
        pending += n;
        ++pending_groups;
        if (pending >= batch_rows) flush();
      }
      flush();
    } else {
      // kl_full: the changed layer output runs through the remaining layers, every token.
      const ForwardModel& model = *m_full->model;
      const int layers = static_cast<int>(model.spec().layers.size());
      const detail::LayerWeightScope rest;  // later layers' weights decoded once
      for (std::size_t g = 0; g < count; ++g) {
        const GroupDelta d = make(g);
        at::Tensor h = m_output.clone();
        h.index_add_(0, d.tokens, d.delta.to(h.scalar_type()));
        std::vector<at::Tensor> seqs = at::split_with_sizes(h, m_full->lengths, 0);
        for (auto& seq : seqs) {
          for (int l = m_layer + 1; l < layers; ++l) {
            auto next = model.run_layer(l, seq);
            if (!next.ok()) return next.error();
            seq = std::move(*next);
          }
        }
        const at::Tensor q = head_logp(at::cat(seqs), m_norm_weight, m_head, eps);
        const at::Tensor& p = m_full->base_logp;
        sums[g] = (p.exp() * (p - q)).sum(at::kDouble).item<double>();
        if (done) done(1);
      }
    }
  } catch (...) {
    return error_from_exception(std::current_exception(),
                                "barriers: layer " + std::to_string(m_layer));
  }
  if (m_collective != nullptr) {
    HC_TRY_STATUS(
        m_collective->sum(sums, "summing the barriers of layer " + std::to_string(m_layer)));
  }
  std::vector<float> out(count);
  const double divisor = m_kind == BarrierKind::OutputL2 ? m_output_energy : m_all_tokens;
  for (std::size_t g = 0; g < count; ++g) {
    // KL is >= 0 exactly; tiny negatives are float rounding of a zero change.
    out[g] = divisor > 0.0 ? static_cast<float>(std::max(0.0, sums[g] / divisor)) : 0.0f;
  }
  return out;
}

}  // namespace hc::native
