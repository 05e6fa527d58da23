// One decoder layer of the LibTorch forward pass: RMSNorm, attention with RoPE/GQA/QK-norm,
// softmax-top-k routing and the MoE / dense MLP blocks. Device-agnostic (CPU or CUDA).
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "hc/native/forward_ops.hpp"

namespace hc::native {

Routing route_softmax_topk(const at::Tensor& logits, int top_k, bool renormalize) {
  Routing r;
  r.probs = at::softmax(logits.to(at::kFloat), -1);  // [T, E]
  // A stable descending sort keeps equal probabilities in index order: lower index wins.
  auto sorted = at::sort(r.probs, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
  r.selected = std::get<1>(sorted).narrow(-1, 0, top_k).contiguous();  // [T, k]
  r.gates = std::get<0>(sorted).narrow(-1, 0, top_k).contiguous();     // [T, k]
  if (renormalize) r.gates = r.gates / r.gates.sum(-1, /*keepdim=*/true);
  return r;
}

namespace detail {

namespace {
using WeightCache = std::map<std::pair<const Checkpoint*, std::string>, at::Tensor>;
// The outermost active LayerWeightScope's tensors; null when none is active.
thread_local WeightCache* t_weight_cache = nullptr;

at::Tensor decode_tensor(const Checkpoint& checkpoint, const std::string& name,
                         at::Device device);
}  // namespace

LayerWeightScope::LayerWeightScope() : m_owner(t_weight_cache == nullptr) {
  if (m_owner) t_weight_cache = new WeightCache();
}
LayerWeightScope::~LayerWeightScope() {
  if (!m_owner) return;
  delete t_weight_cache;
  t_weight_cache = nullptr;
}

at::Tensor load_tensor(const Checkpoint& checkpoint, const std::string& name, at::Device device) {
  if (t_weight_cache == nullptr) return decode_tensor(checkpoint, name, device);
  const auto key = std::make_pair(&checkpoint, name);
  const auto it = t_weight_cache->find(key);
  if (it != t_weight_cache->end()) return it->second;
  return (*t_weight_cache)[key] = decode_tensor(checkpoint, name, device);
}

namespace {
at::Tensor decode_tensor(const Checkpoint& checkpoint, const std::string& name,
                         at::Device device) {
  auto info = checkpoint.info(name);
  if (!info.ok()) throw ForwardFailure{info.error()};
  auto values = checkpoint.read_f32(name);
  if (!values.ok()) throw ForwardFailure{values.error()};
  std::vector<int64_t> shape(info->shape.begin(), info->shape.end());
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
  if (static_cast<std::size_t>(t.numel()) != values->size()) {
    throw ForwardFailure{hc::make_error(hc::ErrorCode::Malformed,
                                        name + ": decoded element count does not match its shape")};
  }
  std::memcpy(t.data_ptr<float>(), values->data(), values->size() * sizeof(float));
  return t.to(device);
}
}  // namespace

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor inv = at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return xf * inv * weight;
}

at::Tensor apply_rope(const at::Tensor& x, double theta) {
  const int64_t tokens = x.size(0), dim = x.size(-1);
  const auto opts = x.options().dtype(at::kFloat);
  // HF computes inv_freq from an int64 arange in float32; double here then cast is equal
  // within fp32 rounding.
  const at::Tensor exponents = at::arange(0, dim, 2, opts.dtype(at::kDouble)) / double(dim);
  const at::Tensor inv_freq = (1.0 / at::pow(theta, exponents)).to(at::kFloat);
  const at::Tensor pos = at::arange(tokens, opts);
  const at::Tensor freqs = at::outer(pos, inv_freq);                            // [T, D/2]
  const at::Tensor emb = at::cat({freqs, freqs}, -1);                           // [T, D]
  const at::Tensor cos = emb.cos().unsqueeze(1), sin = emb.sin().unsqueeze(1);  // [T, 1, D]
  const at::Tensor x1 = x.narrow(-1, 0, dim / 2), x2 = x.narrow(-1, dim / 2, dim - dim / 2);
  const at::Tensor rotated = at::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

at::Tensor attention(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device) {
  const int64_t tokens = x.size(0), heads = spec.num_heads, kv_heads = spec.num_kv_heads,
                hd = spec.head_dim;
  auto project = [&](const std::string& weight, const std::string& bias) {
    const at::Tensor w = load_tensor(checkpoint, weight, device);
    if (bias.empty()) return at::linear(x, w);
    return at::linear(x, w, load_tensor(checkpoint, bias, device));
  };
  at::Tensor q = project(layer.q_proj, layer.q_bias);  // [T, heads*hd]
  at::Tensor k = project(layer.k_proj, layer.k_bias);  // [T, kv_heads*hd]
  at::Tensor v = project(layer.v_proj, layer.v_bias);
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
  q = apply_rope(q, spec.rope_theta);
  k = apply_rope(k, spec.rope_theta);
  // GQA: query head h reads kv head h / (heads / kv_heads), as HF repeat_kv.
  const int64_t rep = heads / kv_heads;
  if (rep > 1) {
    k = k.repeat_interleave(rep, 1);
    v = v.repeat_interleave(rep, 1);
  }
  const at::Tensor qh = q.transpose(0, 1), kh = k.transpose(0, 1), vh = v.transpose(0, 1);
  at::Tensor scores = at::matmul(qh, kh.transpose(1, 2)) / std::sqrt(double(hd));  // [h, T, T]
  const at::Tensor future =
      at::ones({tokens, tokens}, x.options().dtype(at::kBool)).triu(/*diagonal=*/1);
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  const at::Tensor probs = at::softmax(scores.to(at::kFloat), -1);
  const at::Tensor out = at::matmul(probs, vh).transpose(0, 1).reshape({tokens, heads * hd});
  return at::linear(out, load_tensor(checkpoint, layer.o_proj, device));
}

at::Tensor swiglu(const at::Tensor& x, const at::Tensor& gate, const at::Tensor& up,
                  const at::Tensor& down) {
  return at::linear(at::silu(at::linear(x, gate)) * at::linear(x, up), down);
}

namespace {

// Expert e's (gate [I, H], up [I, H], down [H, I]) in either expert layout.
std::tuple<at::Tensor, at::Tensor, at::Tensor> load_expert(
    const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint, int e,
    at::Device device, at::Tensor& fused_gate_up, at::Tensor& fused_down) {
  if (spec.layout == ExpertLayout::PerExpert) {
    const MlpNames& n = layer.experts.at(static_cast<std::size_t>(e));
    return {load_tensor(checkpoint, n.gate, device), load_tensor(checkpoint, n.up, device),
            load_tensor(checkpoint, n.down, device)};
  }
  // Fused: gate_up_proj [E, 2I, H] (gate rows first), down_proj [E, H, I]; loaded once.
  if (!fused_gate_up.defined()) {
    fused_gate_up = load_tensor(checkpoint, layer.fused_gate_up, device);
    fused_down = load_tensor(checkpoint, layer.fused_down, device);
  }
  const at::Tensor gu = fused_gate_up[e];
  const int64_t inter = gu.size(0) / 2;
  return {gu.narrow(0, 0, inter), gu.narrow(0, inter, inter), fused_down[e]};
}

}  // namespace

at::Tensor moe_block(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device, LayerObservation& observation) {
  const at::Tensor logits = at::linear(x, load_tensor(checkpoint, layer.router, device));
  Routing routing = route_softmax_topk(logits, spec.top_k, spec.norm_topk_prob);
  at::Tensor out = at::zeros_like(x);
  at::Tensor fused_gate_up, fused_down;
  // Per expert: the (token, slot) pairs that chose it, computed in one batch.
  const at::Tensor selected_cpu = routing.selected.to(at::kCPU);
  for (int e = 0; e < spec.num_experts; ++e) {
    const at::Tensor hits = at::nonzero(selected_cpu == e);  // [n, 2]: token, slot
    if (hits.size(0) == 0) continue;
    const at::Tensor tok = hits.select(1, 0).to(device), slot = hits.select(1, 1).to(device);
    auto [gate, up, down] =
        load_expert(spec, layer, checkpoint, e, device, fused_gate_up, fused_down);
    const at::Tensor y = swiglu(x.index_select(0, tok), gate, up, down);                   // [n, H]
    const at::Tensor w = routing.gates.index_select(0, tok).gather(1, slot.unsqueeze(1));  // [n, 1]
    out.index_add_(0, tok, y * w);
  }
  if (!layer.shared_expert.gate.empty()) {
    at::Tensor shared = swiglu(x, load_tensor(checkpoint, layer.shared_expert.gate, device),
                               load_tensor(checkpoint, layer.shared_expert.up, device),
                               load_tensor(checkpoint, layer.shared_expert.down, device));
    if (!layer.shared_expert_gate.empty()) {
      shared = shared * at::sigmoid(at::linear(
                            x, load_tensor(checkpoint, layer.shared_expert_gate, device)));
    }
    out = out + shared;
  }
  observation.router_probs = routing.probs;
  observation.selected = routing.selected;
  observation.gates = routing.gates;
  return out;
}

at::Tensor dense_mlp(const LayerSpec& layer, const Checkpoint& checkpoint, const at::Tensor& x,
                     at::Device device) {
  return swiglu(x, load_tensor(checkpoint, layer.dense.gate, device),
                load_tensor(checkpoint, layer.dense.up, device),
                load_tensor(checkpoint, layer.dense.down, device));
}

}  // namespace detail
}  // namespace hc::native
