// Attention for the LibTorch forward pass: RoPE (rotate-half or interleaved pairs), causal
// softmax with optional sinks and sliding window, standard GQA attention and DeepSeek MLA.
#include <cmath>
#include <limits>

#include "hc/native/forward_ops.hpp"

namespace hc::native::detail {

at::Tensor apply_rope(const MoeModelSpec& spec, const at::Tensor& x) {
  const int64_t tokens = x.size(0), dim = x.size(-1), half = dim / 2;
  if (int64_t(spec.rope_inv_freq.size()) != half) {
    throw ForwardFailure{hc::make_error(hc::ErrorCode::Malformed,
                                        "forward: rotary dimension does not match the config")};
  }
  const auto opts = x.options().dtype(at::kFloat);
  // HF builds inv_freq in float32; the double table cast here is equal within fp32 rounding.
  const at::Tensor inv_freq = at::tensor(spec.rope_inv_freq, at::TensorOptions().dtype(at::kDouble))
                                  .to(x.device(), at::kFloat);
  const at::Tensor freqs = at::outer(at::arange(tokens, opts), inv_freq);  // [T, D/2]
  const double af = spec.rope_attention_factor;
  const at::Tensor cos = (freqs.cos() * af).unsqueeze(1), sin = (freqs.sin() * af).unsqueeze(1);
  const bool interleaved = spec.rope_interleaved;
  at::Tensor a, b;  // the two members of each rotated pair, [T, heads, D/2]
  if (interleaved) {
    const at::Tensor pairs = x.reshape({x.size(0), x.size(1), half, 2});
    a = pairs.select(-1, 0), b = pairs.select(-1, 1);
  } else {
    a = x.narrow(-1, 0, half), b = x.narrow(-1, half, half);
  }
  const at::Tensor ra = a * cos - b * sin, rb = b * cos + a * sin;
  if (interleaved) return at::stack({ra, rb}, -1).reshape(x.sizes());
  return at::cat({ra, rb}, -1);
}

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            double scale, int window, const at::Tensor& sinks) {
  const int64_t tokens = q.size(0), heads = q.size(1);
  const at::Tensor qh = q.transpose(0, 1), kh = k.transpose(0, 1), vh = v.transpose(0, 1);
  at::Tensor scores = at::matmul(qh, kh.transpose(1, 2)).to(at::kFloat) * scale;  // [h, T, T]
  const auto bool_opts = q.options().dtype(at::kBool);
  at::Tensor hidden = at::ones({tokens, tokens}, bool_opts).triu(/*diagonal=*/1);
  if (window > 0) {  // j <= i - window is outside the window
    hidden = hidden.logical_or(at::ones({tokens, tokens}, bool_opts).tril(-int64_t(window)));
  }
  scores = scores.masked_fill(hidden, -std::numeric_limits<float>::infinity());
  at::Tensor probs;
  if (sinks.defined()) {
    // The sink is one extra logit per head in the softmax, dropped afterwards.
    const at::Tensor sink = sinks.to(at::kFloat).view({heads, 1, 1}).expand({heads, tokens, 1});
    probs = at::softmax(at::cat({scores, sink}, -1), -1).narrow(-1, 0, tokens);
  } else {
    probs = at::softmax(scores, -1);
  }
  return at::matmul(probs, vh).transpose(0, 1).reshape({tokens, heads * v.size(-1)});
}

at::Tensor attention(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device) {
  if (spec.attention == AttentionKind::Mla) {
    return mla_attention(spec, layer, checkpoint, x, device);
  }
  const int64_t tokens = x.size(0), heads = spec.num_heads, kv_heads = spec.num_kv_heads,
                hd = spec.head_dim;
  auto project = [&](const at::Tensor& in, const std::string& weight, const std::string& bias) {
    const at::Tensor w = load_tensor(checkpoint, weight, device);
    if (bias.empty()) return at::linear(in, w);
    return at::linear(in, w, load_tensor(checkpoint, bias, device));
  };
  at::Tensor q = project(x, layer.q_proj, layer.q_bias);  // [T, heads*hd]
  at::Tensor k = project(x, layer.k_proj, layer.k_bias);  // [T, kv_heads*hd]
  at::Tensor v = project(x, layer.v_proj, layer.v_bias);
  if (spec.qk_norm == QkNorm::Full) {  // OLMoE: over the full projection width
    q = rms_norm(q, load_tensor(checkpoint, layer.q_norm, device), spec.rms_norm_eps);
    k = rms_norm(k, load_tensor(checkpoint, layer.k_norm, device), spec.rms_norm_eps);
  }
  q = q.reshape({tokens, heads, hd});
  k = k.reshape({tokens, kv_heads, hd});
  v = v.reshape({tokens, kv_heads, hd});
  if (spec.qk_norm == QkNorm::PerHead) {  // Qwen3: per head, weight [hd]
    q = rms_norm(q, load_tensor(checkpoint, layer.q_norm, device), spec.rms_norm_eps);
    k = rms_norm(k, load_tensor(checkpoint, layer.k_norm, device), spec.rms_norm_eps);
  }
  q = apply_rope(spec, q);
  k = apply_rope(spec, k);
  // GQA: query head h reads kv head h / (heads / kv_heads), as HF repeat_kv.
  const int64_t rep = heads / kv_heads;
  if (rep > 1) {
    k = k.repeat_interleave(rep, 1);
    v = v.repeat_interleave(rep, 1);
  }
  const at::Tensor sinks =
      layer.sinks.empty() ? at::Tensor() : load_tensor(checkpoint, layer.sinks, device);
  const at::Tensor out =
      causal_attention(q, k, v, spec.softmax_scale_factor / std::sqrt(double(hd)),
                       layer.sliding ? spec.sliding_window : 0, sinks);
  return project(out, layer.o_proj, layer.o_bias);
}

at::Tensor mla_attention(const MoeModelSpec& spec, const LayerSpec& layer,
                         const Checkpoint& checkpoint, const at::Tensor& x, at::Device device) {
  const int64_t tokens = x.size(0), heads = spec.num_heads, nope = spec.qk_nope_head_dim,
                rope = spec.qk_rope_head_dim, vd = spec.v_head_dim, rank = spec.kv_lora_rank;
  auto weight = [&](const std::string& name) { return load_tensor(checkpoint, name, device); };
  at::Tensor q;  // [T, heads*(nope+rope)]
  if (spec.q_lora_rank == 0) {
    q = at::linear(x, weight(layer.q_proj));
  } else {
    const at::Tensor qa =
        rms_norm(at::linear(x, weight(layer.q_a_proj)), weight(layer.q_a_norm), kMlaNormEps);
    q = at::linear(qa, weight(layer.q_b_proj));
  }
  q = q.reshape({tokens, heads, nope + rope});
  const at::Tensor compressed = at::linear(x, weight(layer.kv_a_proj));  // [T, rank+rope]
  const at::Tensor latent =
      rms_norm(compressed.narrow(-1, 0, rank), weight(layer.kv_a_norm), kMlaNormEps);
  const at::Tensor kv =
      at::linear(latent, weight(layer.kv_b_proj)).reshape({tokens, heads, nope + vd});
  // One rotary key shared by all heads (the "MQA" part of kv_a_proj_with_mqa).
  const at::Tensor k_rot =
      apply_rope(spec, compressed.narrow(-1, rank, rope).reshape({tokens, 1, rope}))
          .expand({tokens, heads, rope});
  const at::Tensor q_rot = apply_rope(spec, q.narrow(-1, nope, rope).contiguous());
  const at::Tensor qf = at::cat({q.narrow(-1, 0, nope), q_rot}, -1);
  const at::Tensor kf = at::cat({kv.narrow(-1, 0, nope), k_rot}, -1);
  const at::Tensor v = kv.narrow(-1, nope, vd);
  // DeepSeek-V3 with yarn multiplies the softmax scale by mscale^2 (softmax_scale_factor).
  const at::Tensor out =
      causal_attention(qf, kf, v, spec.softmax_scale_factor / std::sqrt(double(nope + rope)));
  return at::linear(out, weight(layer.o_proj));
}

}  // namespace hc::native::detail
