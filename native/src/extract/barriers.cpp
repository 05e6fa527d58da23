// LayerBarriers: expert statistics and batched group merge barriers of one MoE layer
// (kl_lens, kl_full, output_l2), from a LayerObservation and the layer's expert weights.
#include "hc/native/barriers.hpp"

#include <algorithm>
#include <cmath>

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

// log_softmax(lm_head(final_norm(h))) for rows h [n, H].
at::Tensor head_logp(const at::Tensor& h, const at::Tensor& norm_weight, const at::Tensor& head,
                     double eps) {
  return at::log_softmax(at::linear(detail::rms_norm(h, norm_weight, eps), head), -1);
}

}  // namespace

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

hc::Result<LayerBarriers> LayerBarriers::create(const ForwardModel& model,
                                                const LayerObservation& observation,
                                                BarrierKind kind, const FullModelContext* full) {
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
  b.m_layer = observation.layer;
  b.m_x = observation.x.to(at::kFloat);
  b.m_output = observation.output.to(at::kFloat);
  b.m_tokens = b.m_x.size(0);
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
    b.m_norm_weight = detail::load_tensor(ck, spec.final_norm, device);
    b.m_head =
        detail::load_tensor(ck, spec.lm_head.empty() ? spec.embed_tokens : spec.lm_head, device);
  } catch (...) {
    return error_from_exception(std::current_exception(),
                                "barriers: layer " + std::to_string(observation.layer));
  }

  // Each expert's routed tokens (ascending), gates and outputs; the routed MoE output energy.
  const at::Tensor selected = observation.selected.to(at::kCPU);
  const at::Tensor gates = observation.gates.to(at::kFloat);
  at::Tensor routed_sum = at::zeros_like(b.m_x);
  for (int e = 0; e < spec.num_experts; ++e) {
    const at::Tensor hits = at::nonzero(selected == e);  // [n, 2] token, slot; tokens ascending
    const at::Tensor tok = hits.select(1, 0).contiguous().to(device);
    const at::Tensor slot = hits.select(1, 1).contiguous().to(device);
    const at::Tensor g = gates.index_select(0, tok).gather(1, slot.unsqueeze(1)).squeeze(1);
    const at::Tensor xe = b.m_x.index_select(0, tok);
    const auto& w = b.m_weights[static_cast<std::size_t>(e)];
    const at::Tensor inner = detail::expert_inner(spec, w, xe);
    const at::Tensor y =
        w.down_bias.defined() ? at::linear(inner, w.down, w.down_bias) : at::linear(inner, w.down);
    routed_sum.index_add_(0, tok, y * g.unsqueeze(1));
    b.m_routed.push_back(tok);
    b.m_routed_gate.push_back(g);
    b.m_routed_out.push_back(y);
    b.m_inner_sqnorm.push_back(inner.pow(2).sum(0));
    b.m_frequency.push_back(static_cast<float>(double(tok.size(0)) / double(b.m_tokens)));
  }
  b.m_output_energy = routed_sum.pow(2).sum(at::kDouble).item<double>();
  return b;
}

void LayerBarriers::fill_expert_stats(hc::LayerStats& stats) const {
  const int e_count = experts();
  const double t = double(m_tokens);
  stats.experts = e_count;
  stats.frequency = m_frequency;
  stats.gate_mass.assign(static_cast<std::size_t>(e_count), 0.0f);
  stats.reap.assign(static_cast<std::size_t>(e_count), 0.0f);
  stats.ean.assign(static_cast<std::size_t>(e_count), 0.0f);
  const int64_t hidden = m_x.size(1), inner = m_weights.front().gate.size(0);
  stats.input_sqnorm.assign(static_cast<std::size_t>(e_count * hidden), 0.0f);
  stats.input_sqnorm_cols = static_cast<std::size_t>(hidden);
  stats.inner_sqnorm.assign(static_cast<std::size_t>(e_count * inner), 0.0f);
  stats.inner_sqnorm_cols = static_cast<std::size_t>(inner);
  for (int e = 0; e < e_count; ++e) {
    const auto i = static_cast<std::size_t>(e);
    const int64_t n = m_routed[i].size(0);
    const at::Tensor g = m_routed_gate[i].to(at::kDouble);
    const at::Tensor norms = m_routed_out[i].to(at::kDouble).norm(2, {1});
    stats.gate_mass[i] = static_cast<float>(g.sum().item<double>() / t);
    stats.ean[i] = static_cast<float>(norms.sum().item<double>() / t);
    stats.reap[i] =
        n == 0 ? 0.0f : static_cast<float>((g * norms).sum().item<double>() / double(n));
    const at::Tensor in_sq =
        m_x.index_select(0, m_routed[i]).pow(2).sum(0).to(at::kCPU).contiguous();
    const at::Tensor mid_sq = m_inner_sqnorm[i].to(at::kCPU).contiguous();
    std::copy_n(in_sq.data_ptr<float>(), hidden, stats.input_sqnorm.begin() + e * hidden);
    std::copy_n(mid_sq.data_ptr<float>(), inner, stats.inner_sqnorm.begin() + e * inner);
  }
}

LayerBarriers::GroupDelta LayerBarriers::group_delta(const std::vector<int>& group) const {
  // The merge operator (hc/merge.hpp): weights and biases, where the family has them, blended
  // with π ∝ routing frequency.
  std::vector<double> frequencies;
  for (int e : group) frequencies.push_back(m_frequency[static_cast<std::size_t>(e)]);
  const std::vector<double> pi = hc::merge_coefficients(frequencies);
  std::vector<at::Tensor> parts;
  detail::ExpertWeights merged_w;
  auto blend = [](at::Tensor& into, const at::Tensor& w, double weight) {
    if (!w.defined()) return;
    into = into.defined() ? into + weight * w : weight * w;
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
      detail::expert_mlp(m_model->spec(), merged_w, m_x.index_select(0, d.tokens));
  d.delta = at::zeros_like(merged);
  m_evaluations += static_cast<std::uint64_t>(d.tokens.size(0));
  for (int e : group) {
    const auto i = static_cast<std::size_t>(e);
    if (m_routed[i].size(0) == 0) continue;
    const at::Tensor pos = at::searchsorted(d.tokens, m_routed[i]);
    const at::Tensor change = merged.index_select(0, pos) - m_routed_out[i];
    d.delta.index_add_(0, pos, change * m_routed_gate[i].unsqueeze(1));
  }
  return d;
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
  const double eps = m_model->spec().rms_norm_eps;
  std::vector<double> sums(groups.size(), 0.0);
  try {
    if (m_kind == BarrierKind::OutputL2) {
      for (std::size_t g = 0; g < groups.size(); ++g) {
        const GroupDelta d = group_delta(groups[g]);
        const double change = d.delta.pow(2).sum(at::kDouble).item<double>();
        sums[g] = m_output_energy > 0.0 ? change / m_output_energy : 0.0;
        if (done) done(1);
      }
    } else if (m_kind == BarrierKind::KlLens) {
      // Cached across calls: pairs and triangles of a layer score against the same tokens.
      at::Tensor& base_logp = m_base_logp;
      if (!base_logp.defined() && m_tokens * m_head.size(0) <= kBaseCacheElements) {
        std::vector<at::Tensor> parts;
        for (int64_t r = 0; r < m_tokens; r += kHeadBatchRows) {
          const int64_t n = std::min(kHeadBatchRows, m_tokens - r);
          parts.push_back(head_logp(m_output.narrow(0, r, n), m_norm_weight, m_head, eps));
        }
        base_logp = at::cat(parts);
      }
      // Perturbed rows of many groups share one LM-head product.
      std::vector<at::Tensor> rows, owners;
      std::vector<int64_t> owner_ids;
      int64_t pending = 0;
      std::size_t pending_groups = 0;
      auto flush = [&] {
        if (pending == 0) return;
        const at::Tensor tok = at::cat(rows);  // token index per row
        const at::Tensor delta = at::cat(owners);
        const at::Tensor base = m_output.index_select(0, tok);
        const at::Tensor p = base_logp.defined() ? base_logp.index_select(0, tok)
                                                 : head_logp(base, m_norm_weight, m_head, eps);
        const at::Tensor q = head_logp(base + delta, m_norm_weight, m_head, eps);
        const at::Tensor kl = (p.exp() * (p - q)).sum(-1).to(at::kDouble).to(at::kCPU);
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
      for (std::size_t g = 0; g < groups.size(); ++g) {
        GroupDelta d = group_delta(groups[g]);
        const int64_t n = d.tokens.size(0);
        rows.push_back(d.tokens);
        owners.push_back(d.delta);
        owner_ids.insert(owner_ids.end(), static_cast<std::size_t>(n), static_cast<int64_t>(g));
        pending += n;
        ++pending_groups;
        if (pending >= kHeadBatchRows) flush();
      }
      flush();
    } else {
      // kl_full: the changed layer output runs through the remaining layers, every token.
      const ForwardModel& model = *m_full->model;
      const int layers = static_cast<int>(model.spec().layers.size());
      const detail::LayerWeightScope rest;  // later layers' weights decoded once
      for (std::size_t g = 0; g < groups.size(); ++g) {
        const GroupDelta d = group_delta(groups[g]);
        at::Tensor h = m_output.clone();
        h.index_add_(0, d.tokens, d.delta);
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
  std::vector<float> out(groups.size());
  const double divisor = m_kind == BarrierKind::OutputL2 ? 1.0 : double(m_tokens);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    // KL is >= 0 exactly; tiny negatives are float rounding of a zero change.
    out[g] = static_cast<float>(std::max(0.0, sums[g] / divisor));
  }
  return out;
}

}  // namespace hc::native
