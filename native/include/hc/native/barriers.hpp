// Per-layer extraction math (docs/METHOD.md): expert statistics and merge barriers of expert groups
// (pairs, triples) from what one MoE layer saw on the calibration tokens.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hc/native/forward.hpp"
#include "hc/native/forward_ops.hpp"
#include "hc/stats_file.hpp"

namespace hc::native {

enum class BarrierKind {
  KlLens,    // KL(p || p_G) through final norm + lm_head applied right after the layer
  KlFull,    // KL of the true next-token distributions, layers L+1.. rerun (slow, exact)
  OutputL2,  // sum ||Δy||² / sum ||y||² over the tokens (ablation, not a KL)
};
const char* barrier_name(BarrierKind kind);  // "kl_lens", "kl_full", "output_l2"
// InvalidArgument naming the accepted values.
hc::Result<BarrierKind> parse_barrier(const std::string& name);

// kl_full needs the rest of the model and the original next-token log-probabilities.
struct FullModelContext {
  const ForwardModel* model = nullptr;
  std::vector<int64_t> lengths;  // tokens per calibration sequence, in order
  at::Tensor base_logp;          // [T, V] fp32 log-softmax of the unmodified model
};

// One MoE layer's experts and routing on the calibration tokens. Holds the layer's expert
// weights (fp32, on the model's device) and each expert's outputs on its routed tokens.
class LayerBarriers {
 public:
  // `observation` must come from an MoE layer (x, selected, gates, output defined).
  // Errors: Malformed naming a tensor that cannot be loaded.
  static hc::Result<LayerBarriers> create(const ForwardModel& model,
                                          const LayerObservation& observation, BarrierKind kind,
                                          const FullModelContext* full = nullptr);

  // frequency, gate_mass, reap, ean and both Wanda square norms (docs/FORMAT.md definitions).
  void fill_expert_stats(hc::LayerStats& stats) const;

  // Barrier of merging each group (2 or 3 distinct experts) with the frequency-weighted merge
  // operator; `done(n)` reports progress. Groups are evaluated in batches; results are >= 0.
  hc::Result<std::vector<float>> barriers(const std::vector<std::vector<int>>& groups,
                                          const std::function<void(std::size_t)>& done = {}) const;

  int experts() const { return static_cast<int>(m_weights.size()); }
  // Merged-expert token evaluations done so far by barriers() (sum of the groups' routed
  // token counts): the unit of extraction throughput.
  std::uint64_t merged_token_evaluations() const { return m_evaluations; }

 private:
  LayerBarriers() = default;
  struct GroupDelta {
    at::Tensor tokens;  // [n] int64 token indices whose MoE output changes
    at::Tensor delta;   // [n, H] change of the MoE output on those tokens
  };
  GroupDelta group_delta(const std::vector<int>& group) const;

  const ForwardModel* m_model = nullptr;
  const FullModelContext* m_full = nullptr;
  BarrierKind m_kind = BarrierKind::KlLens;
  int m_layer = 0;
  int64_t m_tokens = 0;
  at::Tensor m_x, m_output;                      // [T, H]
  std::vector<detail::ExpertWeights> m_weights;  // per expert (fp32, biases if any)
  std::vector<at::Tensor> m_routed;              // per expert: sorted token indices [n_e]
  std::vector<at::Tensor> m_routed_gate;         // per expert: gate weights [n_e]
  std::vector<at::Tensor> m_routed_out;          // per expert: E_e(x) on its tokens [n_e, H]
  std::vector<at::Tensor> m_inner_sqnorm;        // per expert: [I]
  std::vector<float> m_frequency;
  at::Tensor m_norm_weight, m_head;  // final norm [H], lm_head [V, H]
  double m_output_energy = 0.0;      // sum over tokens of ||y||² (output_l2)
  mutable std::uint64_t m_evaluations = 0;
  mutable at::Tensor m_base_logp;  // kl_lens: unperturbed log-probs of every token, when small
};

}  // namespace hc::native
