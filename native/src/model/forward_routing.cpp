// Router formulas of docs/FAMILIES.md, one function per formula, all with the same stable
// tie rule (lower expert index wins), plus the dispatch from a MoeModelSpec.
#include <ATen/ATen.h>

#include <limits>
#include <tuple>

#include "hc/native/forward.hpp"

namespace hc::native {
namespace {

// Top-k along the last dimension by a stable descending sort: (values, indices), [T, k] each.
std::tuple<at::Tensor, at::Tensor> stable_topk(const at::Tensor& scores, int64_t k) {
  auto [values, indices] = at::sort(scores, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
  return {values.narrow(-1, 0, k).contiguous(), indices.narrow(-1, 0, k).contiguous()};
}

// Keeps the topk_group best groups of `scores` [T, E] (group_scores [T, G]) and sets every
// other expert's score to 0, as transformers does (not -inf: a kept negative score can lose
// to a masked 0).
at::Tensor mask_groups(const at::Tensor& scores, const at::Tensor& group_scores, int topk_group) {
  const int64_t tokens = scores.size(0), groups = group_scores.size(1);
  const at::Tensor best = std::get<1>(stable_topk(group_scores, topk_group));  // [T, topk_group]
  const at::Tensor keep_group =
      at::zeros({tokens, groups}, scores.options().dtype(at::kBool)).scatter_(1, best, true);
  const at::Tensor keep = keep_group.repeat_interleave(scores.size(1) / groups, 1);  // [T, E]
  return scores.masked_fill(keep.logical_not(), 0.0);
}

}  // namespace

Routing route_softmax_topk(const at::Tensor& logits, int top_k, bool renormalize, double scale) {
  Routing r;
  r.probs = at::softmax(logits.to(at::kFloat), -1);  // [T, E]
  std::tie(r.gates, r.selected) = stable_topk(r.probs, top_k);
  if (renormalize) r.gates = r.gates / r.gates.sum(-1, /*keepdim=*/true);
  if (scale != 1.0) r.gates = r.gates * scale;
  return r;
}

Routing route_group_limited_greedy(const at::Tensor& logits, int top_k, int n_group, int topk_group,
                                   double scale) {
  Routing r;
  r.probs = at::softmax(logits.to(at::kFloat), -1);  // [T, E]
  const int64_t tokens = r.probs.size(0);
  const at::Tensor group_max = std::get<0>(r.probs.view({tokens, n_group, -1}).max(-1));
  const at::Tensor masked = mask_groups(r.probs, group_max, topk_group);
  r.selected = std::get<1>(stable_topk(masked, top_k));
  r.gates = r.probs.gather(1, r.selected) * scale;
  return r;
}

Routing route_noaux_tc(const at::Tensor& logits, const at::Tensor& correction_bias, int top_k,
                       int n_group, int topk_group, bool renormalize, double scale) {
  Routing r;
  r.probs = at::sigmoid(logits.to(at::kFloat));  // [T, E]
  const int64_t tokens = r.probs.size(0);
  const at::Tensor choice = r.probs + correction_bias.to(r.probs.device(), at::kFloat).unsqueeze(0);
  const at::Tensor top2 = std::get<0>(choice.view({tokens, n_group, -1}).topk(2, -1));
  const at::Tensor masked = mask_groups(choice, top2.sum(-1), topk_group);
  r.selected = std::get<1>(stable_topk(masked, top_k));
  r.gates = r.probs.gather(1, r.selected);
  if (renormalize) r.gates = r.gates / (r.gates.sum(-1, /*keepdim=*/true) + 1e-20);
  r.gates = r.gates * scale;
  return r;
}

Routing route_topk_softmax(const at::Tensor& logits, int top_k) {
  Routing r;
  const at::Tensor l = logits.to(at::kFloat);
  r.probs = at::softmax(l, -1);
  at::Tensor top;
  std::tie(top, r.selected) = stable_topk(l, top_k);
  r.gates = at::softmax(top, -1);
  return r;
}

Routing route(const MoeModelSpec& spec, const at::Tensor& logits,
              const at::Tensor& correction_bias) {
  switch (spec.routing) {
    case RoutingKind::GroupLimitedGreedy:
      return route_group_limited_greedy(logits, spec.top_k, spec.n_group, spec.topk_group,
                                        spec.routed_scaling_factor);
    case RoutingKind::NoauxTc:
      return route_noaux_tc(logits, correction_bias, spec.top_k, spec.n_group, spec.topk_group,
                            spec.norm_topk_prob, spec.routed_scaling_factor);
    case RoutingKind::TopkSoftmax:
      return route_topk_softmax(logits, spec.top_k);
    case RoutingKind::SoftmaxTopk:
      break;
  }
  return route_softmax_topk(logits, spec.top_k, spec.norm_topk_prob, spec.routed_scaling_factor);
}

Routing route_masked(const MoeModelSpec& spec, const at::Tensor& logits,
                     const at::Tensor& correction_bias, const at::Tensor& masked) {
  if (!masked.defined()) return route(spec, logits, correction_bias);
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor mask = masked.to(logits.device(), at::kBool);
  at::Tensor correction = correction_bias;
  if (correction.defined()) {
    correction = correction.to(logits.device(), at::kFloat).masked_fill(mask, -inf);
  }
  return route(spec, logits.to(at::kFloat).masked_fill(mask, -inf), correction);
}

}  // namespace hc::native
