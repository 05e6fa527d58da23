// Layer-streamed LibTorch forward pass of a sparse-MoE checkpoint (Mixtral, Qwen2-MoE,
// Qwen3-MoE, OLMoE): only one decoder layer's weights are resident at a time.
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
  at::Tensor hidden;        // [T, H] residual stream entering the layer
  at::Tensor x;             // [T, H] post-attention-norm input to the MLP / MoE block
  at::Tensor router_probs;  // [T, E] fp32 softmax of the router logits (undefined if dense)
  at::Tensor selected;      // [T, k] int64 expert indices, by descending probability
  at::Tensor gates;         // [T, k] fp32 weights applied to the selected experts' outputs
  at::Tensor output;        // [T, H] residual stream leaving the layer
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

// Routing (CHECKPOINTS.md §3, SoftmaxTopk): p = softmax(logits) in fp32, S = top-k of p with
// ties broken towards the lower expert index (stable sort), w = p_S, divided by sum(p_S) iff
// `renormalize`.
struct Routing {
  at::Tensor probs;     // [T, E] fp32
  at::Tensor selected;  // [T, k] int64
  at::Tensor gates;     // [T, k] fp32
};
Routing route_softmax_topk(const at::Tensor& logits, int top_k, bool renormalize);

}  // namespace hc::native
