// Per-layer extraction math (docs/METHOD.md): expert statistics and merge barriers of expert groups
// (pairs, triples) from what one MoE layer saw on the calibration tokens.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hc/native/collective.hpp"
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

// Precision of the large products of barrier scoring (LM head, expert and merged-expert MLPs).
// Softmax, log-probabilities and KL sums stay fp32/fp64 in every mode.
enum class ComputeDtype {
  Fp32,  // fp32 throughout
  Tf32,  // fp32 tensors, TF32 tensor-core products (CUDA only)
  Bf16,  // bf16 weights and activations for the products, fp32 results
};
const char* compute_dtype_name(ComputeDtype dtype);  // "fp32", "tf32", "bf16"
// What "auto" means on a CUDA device (CPU: fp32); the evidence is in docs/DISTRIBUTED.md.
inline constexpr ComputeDtype kGpuDefaultDtype = ComputeDtype::Bf16;
// InvalidArgument naming the accepted values; "auto" resolves per device (docs/DISTRIBUTED.md).
hc::Result<ComputeDtype> parse_compute_dtype(const std::string& name, at::Device device);

// How kl_lens evaluates the next-token distributions (docs/METHOD.md §8.1).
enum class LensSupport {
  Auto,  // TopM where it does less work: V >= 4 (max_support + tail_samples); else Full
  Full,  // every vocabulary entry: one LM-head row product per entry, O(V·H) per scored row
  TopM,  // each token's top-m entries exactly, the rest as one bucket exact to first order
         // with a sampled second order: O((m + r)·H) per scored row
};
const char* lens_support_name(LensSupport support);  // "auto", "full", "top-m"
// InvalidArgument naming the accepted values.
hc::Result<LensSupport> parse_lens_support(const std::string& name);

struct LensSupportOptions {
  LensSupport kind = LensSupport::Auto;
  // TopM: each token's support is its most probable entries up to 1 - tail_mass of p, at most
  // max_support of them (fewer when V is smaller).
  double tail_mass = 1e-3;
  int max_support = 256;
  // Tail entries sampled per token in proportion to p (systematic, deterministic): they add
  // the tail's second-order term to the log-partition. 0: first order only (a lower bound).
  int tail_samples = 64;
};

// The LM head's tensor name: lm_head, or the tied token embedding.
const std::string& head_name(const MoeModelSpec& spec);

// What Auto means for a vocabulary of `vocab` entries (Full and TopM stay as they are).
LensSupport resolve_lens_support(const LensSupportOptions& options, std::int64_t vocab);

// How a LayerBarriers computes: precision, and the ranks it shares the tokens with.
struct BarrierOptions {
  ComputeDtype dtype = ComputeDtype::Fp32;
  // The processes that hold the other calibration tokens: every statistic and barrier is a sum
  // over tokens, reduced across them. Null: this process holds all tokens.
  Collective* collective = nullptr;
  // Router sample (stats file `router_logit_sample`): up to this many calibration tokens,
  // global positions floor(i * T / N) over every rank's T tokens in rank order; this rank's
  // first token is global position `token_offset`. 0: no sample.
  std::size_t router_sample = 0;
  std::int64_t token_offset = 0;
  // kl_lens: how the next-token distributions are evaluated.
  LensSupportOptions lens;
  // The LM head [V, H] (in the product dtype: bf16 for Bf16, else fp32) and final norm [H]
  // (fp32), on the model's device, read once per run by the caller; undefined: read from the
  // checkpoint for this layer.
  at::Tensor lm_head, final_norm;
};

// kl_full needs the rest of the model and the original next-token log-probabilities.
struct FullModelContext {
  const ForwardModel* model = nullptr;
  std::vector<int64_t> lengths;  // tokens per calibration sequence, in order
  at::Tensor base_logp;          // [T, V] fp32 log-softmax of the unmodified model
};

// One MoE layer's experts and routing on the calibration tokens. Holds the layer's expert
// weights (in the checkpoint's dtype where that is BF16 or F16, else fp32; on the model's
// device; converted per group) and each expert's outputs on its routed tokens.
class LayerBarriers {
 public:
  // `observation` must come from an MoE layer (x, selected, gates, output defined); in a
  // distributed run it holds this rank's tokens, and every rank calls create() for the layer.
  // Errors: Malformed naming a tensor that cannot be loaded, PeerFailed.
  static hc::Result<LayerBarriers> create(const ForwardModel& model,
                                          const LayerObservation& observation, BarrierKind kind,
                                          const FullModelContext* full = nullptr,
                                          const BarrierOptions& options = {});

  // frequency, gate_mass, reap, ean, both Wanda square norms, the mean router score and the
  // router sample (docs/FORMAT.md definitions), over the tokens of every rank. Errors:
  // PeerFailed.
  hc::Status fill_expert_stats(hc::LayerStats& stats) const;

  // Barrier of merging each group (2 or 3 distinct experts) with the frequency-weighted merge
  // operator; `done(n)` reports progress. Groups are evaluated in batches; results are >= 0.
  // Distributed: every rank passes the same groups and gets the same barriers.
  hc::Result<std::vector<float>> barriers(const std::vector<std::vector<int>>& groups,
                                          const std::function<void(std::size_t)>& done = {}) const;

  // Leave-one-out barrier of every expert: the expert's router logit set to -inf on its routed
  // tokens (they go to the router's next choices, with the family's routing formula) and the
  // change of the layer output scored like a group merge (same kind and normalisation).
  hc::Result<std::vector<float>> leave_one_out(
      const std::function<void(std::size_t)>& done = {}) const;

  // Directed substitution barrier d(i -> j) of every ordered pair: expert i's output replaced
  // by expert j's on i's routed tokens, with i's gate, scored like a group merge (same kind and
  // normalisation). [E * E] row-major, 0 on the diagonal; `done(n)` counts ordered pairs.
  hc::Result<std::vector<float>> substitutions(
      const std::function<void(std::size_t)>& done = {}) const;

  int experts() const { return static_cast<int>(m_weights.size()); }
  // kl_lens top-m: this rank's mean support size and mean tail mass per token, once a barrier
  // has been scored ({0, 0} before, and in every other mode).
  std::pair<double, double> top_m_support() const;
  // Merged-expert token evaluations done so far by barriers() (sum of the groups' routed
  // token counts): the unit of extraction throughput.
  std::uint64_t merged_token_evaluations() const { return m_evaluations; }

 private:
  LayerBarriers() = default;
  struct GroupDelta {
    at::Tensor tokens;  // [n] int64 token indices whose MoE output changes
    at::Tensor delta;   // [n, H] change of the MoE output on those tokens (m_routed_out's dtype)
  };
  GroupDelta group_delta(const std::vector<int>& group) const;
  GroupDelta leave_one_out_delta(int expert) const;
  GroupDelta substitution_delta(int from, int to) const;
  // Scores `count` output changes made by `make(i)`: KL or L2 sums over every rank, divided
  // as the barriers are.
  hc::Result<std::vector<float>> score(std::size_t count,
                                       const std::function<GroupDelta(std::size_t)>& make,
                                       const std::function<void(std::size_t)>& done) const;
  // The normed-state change norm(base + delta) - norm(base) [n, H] fp64: the logit change is
  // one product with it, not a difference of two nearly equal logit vectors.
  at::Tensor normed_shift(const at::Tensor& base, const at::Tensor& delta) const;
  // Per row, KL(p || q) [n] fp64: p from `logp` [n, V], q from the layer output `base` [n, H]
  // moved by `delta` [n, H], both through the final norm and the LM head.
  at::Tensor kl_from_shift(const at::Tensor& logp, const at::Tensor& base,
                           const at::Tensor& delta) const;
  // The same KL on each token's top-m support plus one tail bucket (LensSupport::TopM); `tok`
  // [n] are the rows' token indices.
  at::Tensor kl_top_m(const at::Tensor& tok, const at::Tensor& base, const at::Tensor& delta) const;
  // W_S(t) . shift for each row's token t: [n, m] in the LM head's dtype.
  at::Tensor support_logit_change(const at::Tensor& tok, const at::Tensor& shift) const;
  // Builds the per-token supports once per layer (kl_lens with LensSupport::TopM).
  void prepare_top_m() const;

  const ForwardModel* m_model = nullptr;
  const FullModelContext* m_full = nullptr;
  BarrierKind m_kind = BarrierKind::KlLens;
  at::ScalarType m_dtype = at::kFloat;       // of the LM-head products
  at::ScalarType m_mlp_dtype = at::kDouble;  // of the expert MLPs whose outputs are compared
  bool m_tf32 = false;
  Collective* m_collective = nullptr;
  int m_layer = 0;
  int64_t m_tokens = 0;                          // this rank's
  double m_all_tokens = 0.0;                     // every rank's
  std::vector<double> m_all_routed;              // per expert: routed tokens over every rank
  at::Tensor m_x, m_output;                      // [T, H]
  at::Tensor m_logits, m_probs;                  // [T, E] router logits and scores (fp32)
  at::Tensor m_selected, m_gates;                // [T, k] the layer's routing
  at::Tensor m_correction;                       // [E] noaux_tc correction bias, or undefined
  std::size_t m_sample_rows = 0;                 // router sample requested
  std::int64_t m_token_offset = 0;               // global position of this rank's first token
  std::vector<detail::ExpertWeights> m_weights;  // per expert (stored dtype, biases if any)
  std::vector<at::Tensor> m_routed;              // per expert: sorted token indices [n_e]
  std::vector<at::Tensor> m_routed_gate;         // per expert: gate weights [n_e]
  std::vector<at::Tensor> m_routed_out;    // per expert: E_e(x) on its tokens [n_e, H], computed
                                           // in m_mlp_dtype (stored fp64, or fp32 for bf16)
  std::vector<at::Tensor> m_routed_norm;   // per expert: fp32-exact ||E_e(x)|| [n_e] (fp64)
  std::vector<at::Tensor> m_inner_sqnorm;  // per expert: [I]
  std::vector<float> m_frequency;
  at::Tensor m_norm_weight, m_head;  // final norm [H], lm_head [V, H]
  double m_output_energy = 0.0;      // sum over every rank's tokens of ||y||² (output_l2)
  mutable std::uint64_t m_evaluations = 0;
  mutable at::Tensor m_base_logp;  // kl_lens: unperturbed log-probs of every token, when small
  LensSupportOptions m_lens;
  // kl_lens top-m, per token: support entries [T, m] (by descending p) followed by the tail
  // sample [T, r], the support's fp64 log p [T, m]
  // (-inf past the token's own support size), log of the tail mass [T], and the tail's
  // p-weighted LM-head row sum sum_{v in tail} p_v W_v [T, H] fp64.
  mutable at::Tensor m_support, m_support_logp, m_tail_logmass, m_tail_row;
};

}  // namespace hc::native
