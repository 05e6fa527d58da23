// MoE block of the LibTorch forward pass: routing through route(), experts in every layout
// (per-expert, fused, gpt-oss fused interleaved with biases), shared experts.
#include <limits>
#include <vector>

#include "hc/native/forward_ops.hpp"

namespace hc::native::detail {
namespace {

at::Tensor linear_opt_bias(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
}

}  // namespace

ExpertWeights load_expert(const MoeModelSpec& spec, const LayerSpec& layer,
                          const Checkpoint& checkpoint, int e, at::Device device,
                          FusedCache& fused) {
  if (spec.layout == ExpertLayout::PerExpert) {
    const MlpNames& n = layer.experts.at(static_cast<std::size_t>(e));
    return {load_tensor_stored(checkpoint, n.gate, device),
            load_tensor_stored(checkpoint, n.up, device),
            load_tensor_stored(checkpoint, n.down, device),
            {},
            {},
            {}};
  }
  if (!fused.gate_up.defined()) {
    fused.gate_up = load_tensor_stored(checkpoint, layer.fused_gate_up, device);
    fused.down = load_tensor_stored(checkpoint, layer.fused_down, device);
    if (!layer.fused_gate_up_bias.empty()) {
      fused.gate_up_bias = load_tensor_stored(checkpoint, layer.fused_gate_up_bias, device);
      fused.down_bias = load_tensor_stored(checkpoint, layer.fused_down_bias, device);
    }
  }
  if (spec.layout == ExpertLayout::Fused) {
    // gate_up_proj [E, 2I, H] (gate rows first), down_proj [E, H, I].
    const at::Tensor gu = fused.gate_up[e];
    const int64_t inter = gu.size(0) / 2;
    return {gu.narrow(0, 0, inter), gu.narrow(0, inter, inter), fused.down[e], {}, {}, {}};
  }
  // FusedInterleaved: gate_up_proj [E, H, 2I] used as x @ W, gate = columns 0::2, up = 1::2;
  // down_proj [E, I, H]. Transposed here to the [out, in] convention of at::linear.
  const at::Tensor gu = fused.gate_up[e], gub = fused.gate_up_bias[e];
  const int64_t width = gu.size(1);
  return {gu.slice(1, 0, width, 2).t(), gu.slice(1, 1, width, 2).t(), fused.down[e].t(),
          gub.slice(0, 0, width, 2),    gub.slice(0, 1, width, 2),    fused.down_bias[e]};
}

at::Tensor expert_inner(const MoeModelSpec& spec, const ExpertWeights& w, const at::Tensor& x) {
  at::Tensor g = linear_opt_bias(x, w.gate, w.gate_bias);
  at::Tensor u = linear_opt_bias(x, w.up, w.up_bias);
  at::Tensor h;
  if (spec.expert_act == ExpertAct::ClampedSwiglu) {
    const double limit = spec.swiglu_limit;
    g = g.clamp_max(limit);
    u = u.clamp(-limit, limit);
    h = (u + 1.0) * (g * at::sigmoid(g * 1.702));
  } else {
    h = at::silu(g) * u;
  }
  return h;
}

at::Tensor expert_mlp(const MoeModelSpec& spec, const ExpertWeights& w, const at::Tensor& x) {
  return linear_opt_bias(expert_inner(spec, w, x), w.down, w.down_bias);
}

at::Tensor moe_block(const MoeModelSpec& spec, const LayerSpec& layer, const Checkpoint& checkpoint,
                     const at::Tensor& x, at::Device device, LayerObservation& observation) {
  const at::Tensor router = load_tensor(checkpoint, layer.router, device);
  at::Tensor logits =
      layer.router_bias.empty()
          ? at::linear(x, router)
          : at::linear(x, router, load_tensor(checkpoint, layer.router_bias, device));
  at::Tensor correction = layer.correction_bias.empty()
                              ? at::Tensor()
                              : load_tensor(checkpoint, layer.correction_bias, device);
  observation.router_logits = logits.to(at::kFloat);
  at::Tensor masked;
  if (!layer.masked_experts.empty()) {
    std::vector<std::uint8_t> flags(layer.masked_experts.begin(), layer.masked_experts.end());
    masked = at::tensor(at::ArrayRef<std::uint8_t>(flags), at::kByte).to(at::kBool).to(device);
  }
  Routing routing = route_masked(spec, logits, correction, masked);
  at::Tensor out = at::zeros_like(x);
  FusedCache fused;
  // Per expert: the (token, slot) pairs that chose it, computed in one batch.
  const at::Tensor selected_cpu = routing.selected.to(at::kCPU);
  for (int e = 0; e < spec.num_experts; ++e) {
    const at::Tensor hits = at::nonzero(selected_cpu == e);  // [n, 2]: token, slot
    if (hits.size(0) == 0) continue;
    const at::Tensor tok = hits.select(1, 0).to(device), slot = hits.select(1, 1).to(device);
    // Held in the checkpoint's dtype; converted (exactly) for this expert's tokens only.
    const ExpertWeights w =
        expert_weights_as(load_expert(spec, layer, checkpoint, e, device, fused), at::kFloat);
    const at::Tensor y = expert_mlp(spec, w, x.index_select(0, tok));                      // [n, H]
    const at::Tensor g = routing.gates.index_select(0, tok).gather(1, slot.unsqueeze(1));  // [n, 1]
    out.index_add_(0, tok, y * g);
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

}  // namespace hc::native::detail
