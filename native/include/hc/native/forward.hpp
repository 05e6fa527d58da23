// Layer-streamed LibTorch forward pass of a sparse-MoE checkpoint (Mixtral, Qwen2-MoE,
// Qwen3-MoE, OLMoE, DeepSeek-V2/V3, gpt-oss): only one decoder layer's weights are resident at
// a time.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "hc/native/checkpoint.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/result.hpp"

namespace hc::native {

// What one decoder layer saw, for statistics extraction. T = tokens, E = experts, k = top-k.
struct LayerObservation {
  int layer = 0;
  bool moe = false;
  at::Tensor hidden;  // [T, H] residual stream entering the layer
  at::Tensor x;       // [T, H] post-attention-norm input to the MLP / MoE block
  // [T, E] fp32 per-family router score (undefined if dense): the softmax of the router logits
  // (softmax_topk, group_limited_greedy); the sigmoid scores without the correction bias
  // (noaux_tc); for gpt-oss (topk_softmax) the softmax over all E biased logits, which is not
  // what weights the experts (that softmax runs over the k selected logits only) but ranks
  // experts the same way and sums to 1 like the other families' scores.
  at::Tensor router_probs;
  // [T, E] fp32 router logits (with the router bias where the family has one, before any
  // correction bias or masking): what route() turns into the selection and the gates.
  at::Tensor router_logits;
  // [T, k] int64 expert indices, by descending selection score (the masked, bias-corrected
  // score for noaux_tc; the biased logit for gpt-oss); ties: lower index first.
  at::Tensor selected;
  // [T, k] fp32 exact weights applied to the selected experts' outputs, including any
  // renormalisation and routed_scaling_factor.
  at::Tensor gates;
  at::Tensor output;  // [T, H] residual stream leaving the layer
};
using LayerCallback = std::function<void(const LayerObservation&)>;

class ForwardModel {
 public:
  // Opens and validates the checkpoint (every expected tensor present with the right shape).
  // Weights are read lazily, layer by layer, onto `device`.
  static hc::Result<ForwardModel> open(const std::filesystem::path& dir,
                                       at::Device device = at::Device(at::kCPU));

  const MoeModelSpec& spec() const { return m_spec; }
  const Checkpoint& checkpoint() const { return m_checkpoint; }
  at::Device device() const { return m_device; }

  // Expert masking as a runtime that reads hodgecover_keep.json at load time would do it: in
  // MoE layer `layer` only the experts in `keep` can be selected. Their router logits are set
  // to -inf before routing (and, for noaux_tc, their selection score too), so every routing
  // formula behaves as if the masked experts were absent. An empty `keep` clears the mask.
  // InvalidArgument for a layer that is not MoE or ids outside [0, E).
  hc::Status mask_experts(int layer, const std::vector<int>& keep);

  // Token embeddings: [T, H] fp32. InvalidArgument for an id outside [0, vocab).
  hc::Result<at::Tensor> embed(const std::vector<std::int32_t>& ids) const;
  // One decoder layer on the residual stream [T, H] (positions 0..T-1, causal). Loads that
  // layer's weights, runs it, releases them; calls `observe` once with the layer's routing.
  hc::Result<at::Tensor> run_layer(int layer, const at::Tensor& hidden,
                                   const LayerCallback& observe = {}) const;
  // Final norm + lm_head (or tied embeddings): [T, H] -> [T, V].
  hc::Result<at::Tensor> head(const at::Tensor& hidden) const;

  // Whole sequence: logits [T, V] fp32 on device().
  hc::Result<at::Tensor> logits(const std::vector<std::int32_t>& ids,
                                const LayerCallback& observe = {}) const;
  // exp(mean next-token negative log-likelihood) over positions 1..T-1; needs T >= 2.
  hc::Result<double> perplexity(const std::vector<std::int32_t>& ids) const;

  // Many independent sequences, streamed layer by layer: each layer's weights are decoded once,
  // shared by every sequence, and released before the next layer. Returns each sequence's
  // residual stream after the last layer ([T_s, H], pass to head()). `observe` is called once
  // per layer with the tokens of all sequences concatenated in order; `layer_done(l)` after
  // each layer (progress reporting).
  hc::Result<std::vector<at::Tensor>> run_sequences(
      const std::vector<std::vector<std::int32_t>>& sequences, const LayerCallback& observe = {},
      const std::function<void(int layer)>& layer_done = {}) const;

 private:
  ForwardModel(Checkpoint checkpoint, MoeModelSpec spec, at::Device device)
      : m_checkpoint(std::move(checkpoint)), m_spec(std::move(spec)), m_device(device) {}

  Checkpoint m_checkpoint;
  MoeModelSpec m_spec;
  at::Device m_device;
};

// Routing (docs/FAMILIES.md). Every top-k here is a stable descending sort: equal scores
// keep index order, so the lower expert index wins a tie. logits [T, E]; results fp32.
struct Routing {
  at::Tensor probs;     // [T, E] fp32 (see LayerObservation::router_probs)
  at::Tensor selected;  // [T, k] int64
  at::Tensor gates;     // [T, k] fp32
};
// p = softmax(logits), S = top-k of p, w = p_S (/ sum(p_S) iff `renormalize`) * scale.
Routing route_softmax_topk(const at::Tensor& logits, int top_k, bool renormalize,
                           double scale = 1.0);
// DeepSeek-V2 group_limited_greedy: p = softmax(logits); experts form n_group contiguous
// groups scored by their max p; the topk_group best groups are kept and the others' p set to 0
// (as transformers); S = top-k of the masked p; w = p_S * scale.
Routing route_group_limited_greedy(const at::Tensor& logits, int top_k, int n_group, int topk_group,
                                   double scale);
// DeepSeek-V3 noaux_tc: s = sigmoid(logits), c = s + correction_bias [E] (selection only);
// group score = sum of the group's top-2 c; other groups' c set to 0 (as transformers);
// S = top-k of masked c; w = s_S (/ (sum(s_S) + 1e-20) iff `renormalize`) * scale.
Routing route_noaux_tc(const at::Tensor& logits, const at::Tensor& correction_bias, int top_k,
                       int n_group, int topk_group, bool renormalize, double scale);
// gpt-oss: logits already include the router bias; S = top-k of logits, w = softmax(logits_S).
Routing route_topk_softmax(const at::Tensor& logits, int top_k);
// The formula `spec.routing` names, with the spec's k, groups, renormalisation and scale.
// correction_bias: [E] for NoauxTc, otherwise ignored (may be undefined).
Routing route(const MoeModelSpec& spec, const at::Tensor& logits,
              const at::Tensor& correction_bias = {});
// route() with the experts flagged in `masked` ([E] bool; undefined: none) unreachable, as
// ForwardModel::mask_experts computes: their logits and correction bias set to -inf.
Routing route_masked(const MoeModelSpec& spec, const at::Tensor& logits,
                     const at::Tensor& correction_bias, const at::Tensor& masked);

}  // namespace hc::native
