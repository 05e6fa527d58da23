// ForwardModel: opens a checkpoint, streams decoder layers through forward_layer.cpp, and turns
// LibTorch exceptions and load failures into hc::Result at its public edge.
#include "hc/native/forward.hpp"

#include <cmath>
#include <exception>
#include <string>
#include <utility>

#include "hc/native/forward_ops.hpp"

namespace hc::native {
namespace {

// Runs `body`, mapping internal failures and LibTorch errors to hc::Error.
template <typename F>
auto guarded(const char* what, F&& body) -> hc::Result<decltype(body())> {
  try {
    return body();
  } catch (const detail::ForwardFailure& failure) {
    return failure.error;
  } catch (const c10::Error& e) {
    return hc::make_error(hc::ErrorCode::Malformed,
                          std::string(what) + ": LibTorch error: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return hc::make_error(hc::ErrorCode::Malformed, std::string(what) + ": " + e.what());
  }
}

}  // namespace

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
  return guarded("embed", [&] {
    const at::Tensor table = detail::load_tensor(m_checkpoint, m_spec.embed_tokens, m_device);
    std::vector<int64_t> wide(ids.begin(), ids.end());
    const at::Tensor index = at::tensor(wide, at::TensorOptions().dtype(at::kLong)).to(m_device);
    return table.index_select(0, index);  // [T, H]
  });
}

hc::Result<at::Tensor> ForwardModel::run_layer(int layer, const at::Tensor& hidden,
                                               const LayerCallback& observe) const {
  if (layer < 0 || layer >= static_cast<int>(m_spec.layers.size())) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "forward: layer " + std::to_string(layer) + " out of range");
  }
  const LayerSpec& spec = m_spec.layers[static_cast<std::size_t>(layer)];
  return guarded("layer", [&] {
    const double eps = m_spec.rms_norm_eps;
    const at::Tensor h = hidden.to(m_device, at::kFloat);
    const at::Tensor attn_in =
        detail::rms_norm(h, detail::load_tensor(m_checkpoint, spec.input_norm, m_device), eps);
    const at::Tensor mid = h + detail::attention(m_spec, spec, m_checkpoint, attn_in, m_device);
    const at::Tensor x = detail::rms_norm(
        mid, detail::load_tensor(m_checkpoint, spec.post_attention_norm, m_device), eps);
    LayerObservation observation;
    observation.layer = layer;
    observation.moe = spec.moe;
    observation.hidden = h;
    observation.x = x;
    const at::Tensor mlp =
        spec.moe ? detail::moe_block(m_spec, spec, m_checkpoint, x, m_device, observation)
                 : detail::dense_mlp(spec, m_checkpoint, x, m_device);
    if (observe) observe(observation);
    return at::Tensor(mid + mlp);
  });
}

hc::Result<at::Tensor> ForwardModel::head(const at::Tensor& hidden) const {
  return guarded("head", [&] {
    const at::Tensor normed = detail::rms_norm(
        hidden.to(m_device, at::kFloat),
        detail::load_tensor(m_checkpoint, m_spec.final_norm, m_device), m_spec.rms_norm_eps);
    const std::string& out = m_spec.lm_head.empty() ? m_spec.embed_tokens : m_spec.lm_head;
    return at::linear(normed, detail::load_tensor(m_checkpoint, out, m_device));  // [T, V]
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
  return guarded("perplexity", [&] {
    const int64_t t = static_cast<int64_t>(ids.size());
    const at::Tensor logp = at::log_softmax(out->narrow(0, 0, t - 1).to(at::kDouble), -1);
    std::vector<int64_t> next(ids.begin() + 1, ids.end());
    const at::Tensor target =
        at::tensor(next, at::TensorOptions().dtype(at::kLong)).to(m_device).unsqueeze(1);
    const double nll = -logp.gather(1, target).mean().item<double>();
    return std::exp(nll);
  });
}

namespace {

// Concatenates the per-sequence observations of one layer along the token dimension.
LayerObservation concatenate(std::vector<LayerObservation>& parts) {
  LayerObservation all;
  all.layer = parts.front().layer;
  all.moe = parts.front().moe;
  auto cat = [&](at::Tensor LayerObservation::*field) {
    std::vector<at::Tensor> pieces;
    for (auto& part : parts) {
      if ((part.*field).defined()) pieces.push_back(std::move(part.*field));
    }
    if (!pieces.empty()) all.*field = pieces.size() == 1 ? pieces.front() : at::cat(pieces, 0);
  };
  cat(&LayerObservation::hidden);
  cat(&LayerObservation::x);
  cat(&LayerObservation::router_probs);
  cat(&LayerObservation::selected);
  cat(&LayerObservation::gates);
  return all;
}

}  // namespace

hc::Result<std::vector<at::Tensor>> ForwardModel::run_sequences(
    const std::vector<std::vector<std::int32_t>>& sequences, const LayerCallback& observe,
    const std::function<void(int layer)>& layer_done) const {
  if (sequences.empty()) {
    return hc::make_error(hc::ErrorCode::InvalidArgument, "forward: no sequences");
  }
  std::vector<at::Tensor> hidden;
  hidden.reserve(sequences.size());
  {
    const detail::LayerWeightScope embeddings;
    for (const auto& ids : sequences) {
      auto h = embed(ids);
      if (!h.ok()) return h.error();
      hidden.push_back(std::move(*h));
    }
  }
  for (int l = 0; l < static_cast<int>(m_spec.layers.size()); ++l) {
    const detail::LayerWeightScope weights;  // this layer's weights, decoded once
    std::vector<LayerObservation> parts;
    const LayerCallback keep = [&](const LayerObservation& o) { parts.push_back(o); };
    for (auto& h : hidden) {
      auto next = run_layer(l, h, observe ? keep : LayerCallback{});
      if (!next.ok()) return next.error();
      h = std::move(*next);
    }
    if (observe) observe(concatenate(parts));
    if (layer_done) layer_done(l);
  }
  return hidden;
}

}  // namespace hc::native
