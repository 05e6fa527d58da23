// Building blocks of the LibTorch forward pass (forward_layer.cpp), shared by forward.cpp.
// Internal: errors are thrown as detail::ForwardFailure and turned into hc::Result at the
// public edge of ForwardModel.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "hc/native/checkpoint.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/result.hpp"

namespace hc::native::detail {

struct ForwardFailure {
  hc::Error error;
};

// The tensor `name` as fp32 with its checkpoint shape, on `device`. Throws ForwardFailure
// (Malformed, message naming the tensor) when it is missing or undecodable. Inside a
// LayerWeightScope each tensor is decoded once and reused until the scope ends.
at::Tensor load_tensor(const Checkpoint& checkpoint, const std::string& name, at::Device device);

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

// Rotary embedding, HF rotate-half convention: x [T, heads, D] at positions 0..T-1,
// inv_freq_i = theta^(-2i/D), x*cos + rotate_half(x)*sin with cos/sin = cat(f, f).
at::Tensor apply_rope(const at::Tensor& x, double theta);

// Self-attention sub-block of `layer` on the normed input x [T, H] -> [T, H] (before the
// residual add): projections (+ Qwen2 biases), QK-norm, RoPE, GQA, causal softmax in fp32.
at::Tensor attention(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device);

// SwiGLU MLP: down(silu(gate x) * up x); x [T, H], gate/up [I, H], down [H, I].
at::Tensor swiglu(const at::Tensor& x, const at::Tensor& gate, const at::Tensor& up,
                  const at::Tensor& down);

// MoE block of `layer` on x [T, H] -> [T, H]; fills the routing fields of `observation`.
// Experts are loaded one at a time, and only when some token selects them.
at::Tensor moe_block(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device, LayerObservation& observation);

// Dense MLP of a non-MoE layer on x [T, H] -> [T, H].
at::Tensor dense_mlp(const LayerSpec& layer, const Checkpoint& checkpoint, const at::Tensor& x,
                     at::Device device);

}  // namespace hc::native::detail
