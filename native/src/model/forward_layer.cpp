// Shared pieces of one decoder layer in the LibTorch forward pass: tensor loading, RMSNorm and
// the dense SwiGLU MLP. Attention, routing and the MoE block live in forward_attention.cpp,
// forward_routing.cpp and forward_moe.cpp. Device-agnostic (CPU or CUDA).
#include <cstring>
#include <map>
#include <utility>

#include "hc/native/forward_ops.hpp"

namespace hc::native::detail {

namespace {
using WeightCache = std::map<std::pair<const Checkpoint*, std::string>, at::Tensor>;
// The outermost active LayerWeightScope's tensors; null when none is active.
thread_local WeightCache* t_weight_cache = nullptr;

at::Tensor decode_tensor(const Checkpoint& checkpoint, const std::string& name, at::Device device);
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

at::Tensor load_tensor_stored(const Checkpoint& checkpoint, const std::string& name,
                              at::Device device) {
  auto info = checkpoint.info(name);
  if (!info.ok()) throw ForwardFailure{info.error()};
  const hc::Dtype dtype = info->dtype;
  if (dtype != hc::Dtype::BF16 && dtype != hc::Dtype::F16) {
    return load_tensor(checkpoint, name, device);
  }
  const auto key = std::make_pair(&checkpoint, name + "\n(stored)");
  if (t_weight_cache != nullptr) {
    const auto it = t_weight_cache->find(key);
    if (it != t_weight_cache->end()) return it->second;
  }
  auto bytes = checkpoint.read_raw(name);
  if (!bytes.ok()) throw ForwardFailure{bytes.error()};
  std::vector<int64_t> shape(info->shape.begin(), info->shape.end());
  at::Tensor t = at::empty(
      shape, at::TensorOptions().dtype(dtype == hc::Dtype::BF16 ? at::kBFloat16 : at::kHalf));
  if (static_cast<std::size_t>(t.nbytes()) != bytes->size()) {
    throw ForwardFailure{hc::make_error(hc::ErrorCode::Malformed,
                                        name + ": stored byte count does not match its shape")};
  }
  std::memcpy(t.data_ptr(), bytes->data(), bytes->size());
  t = t.to(device);
  if (t_weight_cache != nullptr) (*t_weight_cache)[key] = t;
  return t;
}

ExpertWeights expert_weights_as(const ExpertWeights& w, at::ScalarType dtype) {
  auto as = [dtype](const at::Tensor& t) { return t.defined() ? t.to(dtype) : t; };
  return {as(w.gate), as(w.up), as(w.down), as(w.gate_bias), as(w.up_bias), as(w.down_bias)};
}

namespace {
at::Tensor decode_tensor(const Checkpoint& checkpoint, const std::string& name, at::Device device) {
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

at::Tensor swiglu(const at::Tensor& x, const at::Tensor& gate, const at::Tensor& up,
                  const at::Tensor& down) {
  return at::linear(at::silu(at::linear(x, gate)) * at::linear(x, up), down);
}

at::Tensor dense_mlp(const LayerSpec& layer, const Checkpoint& checkpoint, const at::Tensor& x,
                     at::Device device) {
  return swiglu(x, load_tensor(checkpoint, layer.dense.gate, device),
                load_tensor(checkpoint, layer.dense.up, device),
                load_tensor(checkpoint, layer.dense.down, device));
}

void require_finite(const at::Tensor& t, const std::string& what) {
  if (!t.defined() || at::isfinite(t).all().item<bool>()) return;
  const auto nan = at::isnan(t).sum().item<int64_t>();
  const auto inf = at::isinf(t).sum().item<int64_t>();
  throw ForwardFailure{hc::make_error(
      hc::ErrorCode::NonFinite,
      what + ": " + std::to_string(nan) + " NaN and " + std::to_string(inf) +
          " infinite values (the checkpoint's weights hold NaN/Inf, or the activations "
          "overflow; nothing was written)")};
}

}  // namespace hc::native::detail
