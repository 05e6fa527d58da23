// Building blocks of the LibTorch forward pass (forward_layer.cpp), shared by forward.cpp.
// Internal: errors are thrown as detail::ForwardFailure (torch_errors.hpp) and turned into
// hc::Result by guard_torch at the public edge of each room.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "hc/native/checkpoint.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/native/torch_errors.hpp"
#include "hc/result.hpp"

namespace hc::native::detail {

// The tensor `name` as fp32 with its checkpoint shape, on `device`. Throws ForwardFailure
// (Malformed, message naming the tensor) when it is missing or undecodable. Inside a
// LayerWeightScope each tensor is decoded once and reused until the scope ends.
at::Tensor load_tensor(const Checkpoint& checkpoint, const std::string& name, at::Device device);
// The same in the checkpoint's dtype when that is BF16 or F16 (held exactly, at half the
// memory); fp32 for every other dtype. Cached like load_tensor.
at::Tensor load_tensor_stored(const Checkpoint& checkpoint, const std::string& name,
                              at::Device device);

// Throws ForwardFailure (NonFinite) when `t` holds NaN or Inf: "<what>: N NaN and M infinite
// values" and what usually causes them. One reduction on the tensor's device.
void require_finite(const at::Tensor& t, const std::string& what);

// While alive (on this thread), load_tensor keeps what it decodes, so running one layer over
// many sequences decodes its weights once; the weights are released when the scope ends.
class LayerWeightScope {
 public:
  LayerWeightScope();
  ~LayerWeightScope();
  LayerWeightScope(const LayerWeightScope&) = delete;
  LayerWeightScope& operator=(const LayerWeightScope&) = delete;

 private:
  bool m_owner;  // nested scopes share the outermost one's cache
};

// RMSNorm over the last dimension: x * rsqrt(mean(x^2) + eps) * weight, computed in fp32.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// Rotary embedding of x [T, heads, D] at positions 0..T-1 with spec.rope_inv_freq [D/2]
// (default or yarn) and cos/sin scaled by spec.rope_attention_factor. Rotate-half pairs
// (i, i + D/2) as HF's rotate_half; spec.rope_interleaved pairs (2i, 2i+1) as DeepSeek's
// complex form (equal to transformers' rope_interleave, whose output permutation is the same
// for q and k and so leaves q.k unchanged).
at::Tensor apply_rope(const MoeModelSpec& spec, const at::Tensor& x);

// Causal softmax attention: q, k [T, heads, Dk], v [T, heads, Dv] -> [T, heads*Dv].
// scores = q.k * scale; a key j is visible to query i iff j <= i and, when window > 0,
// i - j < window. sinks [heads] (optional) add one logit per head to the softmax denominator.
at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            double scale, int window = 0, const at::Tensor& sinks = {});

// Self-attention sub-block of `layer` on the normed input x [T, H] -> [T, H] (before the
// residual add). Standard: projections (+ biases), QK-norm, RoPE, GQA, sinks, sliding window.
// Mla: DeepSeek latent attention (mla_attention).
at::Tensor attention(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device);
at::Tensor mla_attention(const MoeModelSpec& spec, const LayerSpec& layer,
                         const Checkpoint& checkpoint, const at::Tensor& x, at::Device device);
// transformers builds q_a_layernorm / kv_a_layernorm with the RMSNorm default eps, not the
// config's rms_norm_eps.
constexpr double kMlaNormEps = 1e-6;

// SwiGLU MLP: down(silu(gate x) * up x); x [T, H], gate/up [I, H], down [H, I].
at::Tensor swiglu(const at::Tensor& x, const at::Tensor& gate, const at::Tensor& up,
                  const at::Tensor& down);

// One expert's weights: gate/up [I, H], down [H, I]; biases [I], [I], [H] or undefined.
struct ExpertWeights {
  at::Tensor gate, up, down, gate_bias, up_bias, down_bias;
};
// The weights in `dtype` (no copy for those already in it).
ExpertWeights expert_weights_as(const ExpertWeights& w, at::ScalarType dtype);
// The expert MLP for spec.expert_act (Swiglu or gpt-oss ClampedSwiglu): [n, H] -> [n, H].
at::Tensor expert_mlp(const MoeModelSpec& spec, const ExpertWeights& w, const at::Tensor& x);
// The down projection's input act(gate x) * up x of that MLP: [n, H] -> [n, I].
at::Tensor expert_inner(const MoeModelSpec& spec, const ExpertWeights& w, const at::Tensor& x);

// Fused expert tensors of one layer, loaded on first use and kept for its other experts.
struct FusedCache {
  at::Tensor gate_up, down, gate_up_bias, down_bias;
};
// Expert e of `layer` in any layout (per-expert, fused, gpt-oss fused interleaved with biases),
// in the checkpoint's dtype where that is BF16 or F16 (load_tensor_stored), else fp32.
ExpertWeights load_expert(const MoeModelSpec& spec, const LayerSpec& layer,
                          const Checkpoint& checkpoint, int e, at::Device device,
                          FusedCache& fused);

// MoE block of `layer` on x [T, H] -> [T, H]; fills the routing fields of `observation`.
// Experts are loaded one at a time, and only when some token selects them.
at::Tensor moe_block(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device, LayerObservation& observation);

// Dense MLP of a non-MoE layer on x [T, H] -> [T, H].
at::Tensor dense_mlp(const LayerSpec& layer, const Checkpoint& checkpoint, const at::Tensor& x,
                     at::Device device);

}  // namespace hc::native::detail
