// ForwardModel: opens a checkpoint, streams decoder layers through forward_layer.cpp, and turns
// LibTorch exceptions and load failures into hc::Result at its public edge.
#include "hc/native/forward.hpp"

#include <optional>

#include <cmath>
#include <exception>
#include <string>
#include <utility>

#include "hc/native/forward_ops.hpp"

namespace hc::native {

hc::Result<ForwardModel> ForwardModel::open(const std::filesystem::path& dir, at::Device device) {
  auto checkpoint = open_checkpoint(dir);
  if (!checkpoint.ok()) return checkpoint.error();
  auto spec = model_spec_for(*checkpoint);
  if (!spec.ok()) return spec.error();
  HC_TRY_STATUS(validate_checkpoint(*spec, *checkpoint));
  if (spec->num_kv_heads <= 0 || spec->num_heads % spec->num_kv_heads != 0) {
    return hc::make_error(hc::ErrorCode::Malformed,
                          "config.json: num_attention_heads must be a multiple of "
                          "num_key_value_heads");
  }
  return ForwardModel(std::move(*checkpoint), std::move(*spec), device);
}

hc::Result<at::Tensor> ForwardModel::embed(const std::vector<std::int32_t>& ids) const {
  if (ids.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "forward: empty token sequence");
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= m_spec.vocab_size) {
      return hc::make_error(hc::ErrorCode::InvalidArgument,
                            "forward: token id " + std::to_string(ids[i]) + " at position " +
                                std::to_string(i) + " is outside the vocabulary [0, " +
                                std::to_string(m_spec.vocab_size) + ")");
    }
  }
  return guard_torch("embed", [&] {
    const at::Tensor table = detail::load_tensor(m_checkpoint, m_spec.embed_tokens, m_device);
    std::vector<int64_t> wide(ids.begin(), ids.end());
    const at::Tensor index = at::tensor(wide, at::TensorOptions().dtype(at::kLong)).to(m_device);
    return table.index_select(0, index);  // [T, H]
  });
}

namespace {

// Residual stream after the attention sub-block: h + attention(input_norm(h)).
at::Tensor attention_residual(const MoeModelSpec& model, const LayerSpec& spec,
                              const Checkpoint& checkpoint, const at::Tensor& h,
                              at::Device device) {
  const at::Tensor attn_in = detail::rms_norm(
      h, detail::load_tensor(checkpoint, spec.input_norm, device), model.rms_norm_eps);
  return h + detail::attention(model, spec, checkpoint, attn_in, device);
}

// Residual stream after the MLP / MoE sub-block; token-wise, so `mid` may hold the tokens of
// many sequences. Fills the observation's x and routing fields.
at::Tensor mlp_residual(const MoeModelSpec& model, const LayerSpec& spec,
                        const Checkpoint& checkpoint, const at::Tensor& mid, at::Device device,
                        LayerObservation& observation) {
  const at::Tensor x = detail::rms_norm(
      mid, detail::load_tensor(checkpoint, spec.post_attention_norm, device), model.rms_norm_eps);
  observation.layer = spec.index;
  observation.moe = spec.moe;
  observation.x = x;
  const at::Tensor mlp = spec.moe
                             ? detail::moe_block(model, spec, checkpoint, x, device, observation)
                             : detail::dense_mlp(spec, checkpoint, x, device);
  return mid + mlp;
}

}  // namespace

hc::Status ForwardModel::mask_experts(int layer, const std::vector<int>& keep) {
  if (layer < 0 || layer >= static_cast<int>(m_spec.layers.size()) ||
      !m_spec.layers[static_cast<std::size_t>(layer)].moe) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "mask: layer " + std::to_string(layer) + " is not an MoE layer");
  }
  LayerSpec& spec = m_spec.layers[static_cast<std::size_t>(layer)];
  if (keep.empty()) {
    spec.masked_experts.clear();
    return hc::Ok{};
  }
  std::vector<bool> masked(static_cast<std::size_t>(m_spec.num_experts), true);
  for (int e : keep) {
    if (e < 0 || e >= m_spec.num_experts) {
      return hc::make_error(
          hc::ErrorCode::InvalidArgument,
          "mask: expert " + std::to_string(e) + " out of range in layer " + std::to_string(layer));
    }
    masked[static_cast<std::size_t>(e)] = false;
  }
  spec.masked_experts = std::move(masked);
  return hc::Ok{};
}

hc::Result<at::Tensor> ForwardModel::run_layer(int layer, const at::Tensor& hidden,
                                               const LayerCallback& observe) const {
  if (layer < 0 || layer >= static_cast<int>(m_spec.layers.size())) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "forward: layer " + std::to_string(layer) + " out of range");
  }
  const LayerSpec& spec = m_spec.layers[static_cast<std::size_t>(layer)];
  return guard_torch("layer", [&] {
    const at::Tensor h = hidden.to(m_device, at::kFloat);
    const at::Tensor mid = attention_residual(m_spec, spec, m_checkpoint, h, m_device);
    LayerObservation observation;
    observation.hidden = h;
    at::Tensor out = mlp_residual(m_spec, spec, m_checkpoint, mid, m_device, observation);
    detail::require_finite(out, "layer " + std::to_string(layer) + " output");
    observation.output = out;
    if (observe) observe(observation);
    return out;
  });
}

hc::Result<at::Tensor> ForwardModel::head(const at::Tensor& hidden) const {
  return guard_torch("head", [&] {
    const at::Tensor normed = detail::rms_norm(
        hidden.to(m_device, at::kFloat),
        detail::load_tensor(m_checkpoint, m_spec.final_norm, m_device), m_spec.rms_norm_eps);
    const std::string& out = m_spec.lm_head.empty() ? m_spec.embed_tokens : m_spec.lm_head;
    at::Tensor logits = at::linear(normed, detail::load_tensor(m_checkpoint, out, m_device));
    detail::require_finite(logits, "output logits");
    return logits;  // [T, V]
  });
}

hc::Result<at::Tensor> ForwardModel::logits(const std::vector<std::int32_t>& ids,
                                            const LayerCallback& observe) const {
  auto hidden = embed(ids);
  if (!hidden.ok()) return hidden.error();
  at::Tensor h = std::move(*hidden);
  for (int l = 0; l < static_cast<int>(m_spec.layers.size()); ++l) {
    auto next = run_layer(l, h, observe);
    if (!next.ok()) return next.error();
    h = std::move(*next);
  }
  return head(h);
}

hc::Result<double> ForwardModel::perplexity(const std::vector<std::int32_t>& ids) const {
  if (ids.size() < 2) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "perplexity: needs at least two tokens");
  }
  auto out = logits(ids);
  if (!out.ok()) return out.error();
  return guard_torch("perplexity", [&] {
    const int64_t t = static_cast<int64_t>(ids.size());
    const at::Tensor logp = at::log_softmax(out->narrow(0, 0, t - 1).to(at::kDouble), -1);
    std::vector<int64_t> next(ids.begin() + 1, ids.end());
    const at::Tensor target =
        at::tensor(next, at::TensorOptions().dtype(at::kLong)).to(m_device).unsqueeze(1);
    const double nll = -logp.gather(1, target).mean().item<double>();
    return std::exp(nll);
  });
}

hc::Result<std::vector<at::Tensor>> ForwardModel::run_sequences(
    const std::vector<std::vector<std::int32_t>>& sequences, const LayerCallback& observe,
    const std::function<void(int layer)>& layer_done) const {
  if (sequences.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "forward: no sequences");
  }
  std::vector<at::Tensor> hidden;
  std::vector<int64_t> lengths;
  {
    const detail::LayerWeightScope embeddings;
    for (const auto& ids : sequences) {
      auto h = embed(ids);
      if (!h.ok()) return h.error();
      hidden.push_back(std::move(*h));
      lengths.push_back(static_cast<int64_t>(ids.size()));
    }
  }
  for (int l = 0; l < static_cast<int>(m_spec.layers.size()); ++l) {
    const LayerSpec& spec = m_spec.layers[static_cast<std::size_t>(l)];
    auto done = guard_torch("layer", [&] {
      // Attention per sequence (its weights decoded once, shared by all sequences); then the
      // token-wise MLP / MoE block once over every token, each expert loaded once.
      std::vector<at::Tensor> mids;
      {
        const detail::LayerWeightScope attention_weights;
        for (const auto& h : hidden) {
          mids.push_back(attention_residual(m_spec, spec, m_checkpoint, h, m_device));
        }
      }
      LayerObservation observation;
      if (observe) observation.hidden = at::cat(hidden, 0);
      // An observer (extract's barriers) needs the layer's experts again: they stay decoded
      // until it returns, so the layer is read from the checkpoint once.
      std::optional<detail::LayerWeightScope> layer_weights;
      if (observe) layer_weights.emplace();
      const at::Tensor mid = at::cat(mids, 0);
      mids.clear();
      const at::Tensor out = mlp_residual(m_spec, spec, m_checkpoint, mid, m_device, observation);
      detail::require_finite(out, "layer " + std::to_string(l) + " output");
      hidden = at::split_with_sizes(out, lengths, 0);
      observation.output = out;
      if (observe) observe(observation);
      return true;
    });
    if (!done.ok()) return done.error();
    if (layer_done) layer_done(l);
  }
  return hidden;
}

}  // namespace hc::native
