// LibTorch trainer of small MoE language models. The forward pass below is the batched form of
// forward.cpp's per-sequence one and calls the same building blocks (rms_norm, apply_rope,
// causal_attention, swiglu, route), so the checkpoint it writes evaluates to the same numbers.
#include "hc/native/train_model.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "hc/native/calibration.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/forward_ops.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::native {
namespace {

using Params = std::map<std::string, at::Tensor>;

hc::Error invalid(const std::string& message) {
  return hc::make_error(hc::ErrorCode::InvalidArgument, message);
}

struct ForwardOut {
  at::Tensor logits;               // [B, T, V]
  at::Tensor aux;                  // scalar: mean over layers of the load-balancing loss
  std::vector<at::Tensor> counts;  // per layer [E]: top-k assignments per expert
};

// Self-attention of `layer` on the normed input x [B, T, H] -> [B, T, H]. The batch is folded
// into the head axis so the forward pass's [T, heads, D] RoPE and attention apply unchanged.
at::Tensor attention_block(const MoeModelSpec& spec, const LayerSpec& layer, const Params& p,
                           const at::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), nh = spec.num_heads, kvh = spec.num_kv_heads,
                hd = spec.head_dim;
  at::Tensor q = at::linear(x, p.at(layer.q_proj));
  at::Tensor k = at::linear(x, p.at(layer.k_proj));
  at::Tensor v = at::linear(x, p.at(layer.v_proj));
  if (spec.qk_norm == QkNorm::Full) {  // OLMoE: over the whole projection
    q = detail::rms_norm(q, p.at(layer.q_norm), spec.rms_norm_eps);
    k = detail::rms_norm(k, p.at(layer.k_norm), spec.rms_norm_eps);
  }
  q = q.reshape({B, T, nh, hd});
  k = k.reshape({B, T, kvh, hd});
  v = v.reshape({B, T, kvh, hd});
  if (spec.qk_norm == QkNorm::PerHead) {  // Qwen3: per head
    q = detail::rms_norm(q, p.at(layer.q_norm), spec.rms_norm_eps);
    k = detail::rms_norm(k, p.at(layer.k_norm), spec.rms_norm_eps);
  }
  const int64_t rep = nh / kvh;
  if (rep > 1) {  // query head h reads kv head h / rep (HF repeat_kv)
    k = k.repeat_interleave(rep, 2);
    v = v.repeat_interleave(rep, 2);
  }
  const auto fold = [&](const at::Tensor& t) {  // [B, T, nh, hd] -> [T, B*nh, hd]
    return t.permute({1, 0, 2, 3}).reshape({T, B * nh, hd});
  };
  const at::Tensor out = detail::causal_attention(detail::apply_rope(spec, fold(q)),
                                                  detail::apply_rope(spec, fold(k)), fold(v),
                                                  1.0 / std::sqrt(double(hd)));  // [T, B*nh*hd]
  return at::linear(out.reshape({T, B, nh * hd}).transpose(0, 1), p.at(layer.o_proj));
}

// MoE block on x [N, H] -> [N, H]; adds the layer's load-balancing loss to `aux` and returns
// the per-expert assignment counts in `counts`.
at::Tensor moe_block(const MoeModelSpec& spec, const LayerSpec& layer, const Params& p,
                     const at::Tensor& x, at::Tensor& aux, at::Tensor& counts) {
  const int64_t n = x.size(0), k = spec.top_k, experts = spec.num_experts;
  const Routing r = route(spec, at::linear(x, p.at(layer.router)));
  const at::Tensor flat_selected = r.selected.reshape({-1});
  const at::Tensor flat_gates = r.gates.reshape({-1});
  counts =
      at::zeros({experts}, x.options()).index_add(0, flat_selected, at::ones({n * k}, x.options()));
  // Switch/Mixtral balance loss E * sum_e f_e P_e, f = share of assignments (no gradient),
  // P = mean router probability: 1 when routing is uniform.
  aux = aux + double(experts) * (counts.detach() / double(n * k) * r.probs.mean(0)).sum();
  at::Tensor out = at::zeros_like(x);
  for (int64_t e = 0; e < experts; ++e) {
    const at::Tensor hit = (flat_selected == e).nonzero().reshape({-1});  // flat (token, slot)
    if (hit.numel() == 0) continue;
    const at::Tensor tok = at::div(hit, k, "floor");  // token of each hit
    const MlpNames& w = layer.experts[e];
    const at::Tensor y =
        detail::swiglu(x.index_select(0, tok), p.at(w.gate), p.at(w.up), p.at(w.down));
    out = out.index_add(0, tok, y * flat_gates.index_select(0, hit).unsqueeze(1));
  }
  return out;
}

ForwardOut forward(const MoeModelSpec& spec, const Params& p, const at::Tensor& ids) {
  const int64_t B = ids.size(0), T = ids.size(1), H = spec.hidden_size;
  ForwardOut out;
  at::Tensor x = at::embedding(p.at(spec.embed_tokens), ids);  // [B, T, H]
  out.aux = at::zeros({}, x.options());
  for (const LayerSpec& layer : spec.layers) {
    x = x + attention_block(spec, layer, p,
                            detail::rms_norm(x, p.at(layer.input_norm), spec.rms_norm_eps));
    const at::Tensor h =
        detail::rms_norm(x, p.at(layer.post_attention_norm), spec.rms_norm_eps).reshape({B * T, H});
    at::Tensor counts;
    x = x + moe_block(spec, layer, p, h, out.aux, counts).reshape({B, T, H});
    out.counts.push_back(counts);
  }
  out.aux = out.aux / double(spec.layers.size());
  x = detail::rms_norm(x, p.at(spec.final_norm), spec.rms_norm_eps);
  out.logits = at::linear(x, p.at(spec.lm_head.empty() ? spec.embed_tokens : spec.lm_head));
  return out;
}

// Summed next-token NLL of logits [B, T, V] against ids [B, T] (positions 1..T-1).
at::Tensor nll_sum(const at::Tensor& logits, const at::Tensor& ids) {
  const int64_t T = ids.size(1);
  const at::Tensor logp = at::log_softmax(logits.narrow(1, 0, T - 1).to(at::kFloat), -1);
  return -logp.gather(2, ids.narrow(1, 1, T - 1).unsqueeze(2)).sum();
}

at::Tensor ids_tensor(const std::vector<std::int64_t>& flat, int64_t rows) {
  return at::tensor(flat, at::TensorOptions().dtype(at::kLong)).reshape({rows, -1});
}

Params rounded_to_bf16(const Params& p) {
  Params q;
  for (const auto& [name, t] : p) q[name] = t.detach().to(at::kBFloat16).to(at::kFloat);
  return q;
}

// Held-out NLL with the sequences `hodgecover eval` would use (split_sequences, min tail 2).
HeldoutResult evaluate(const MoeModelSpec& spec, const Params& p,
                       const std::vector<std::int32_t>& ids, int seq_len) {
  HeldoutResult result;
  if (ids.size() < 2) return result;
  const at::NoGradGuard no_grad;
  const auto sequences = split_sequences(ids, std::size_t(seq_len), 0, 2);
  std::vector<at::Tensor> load(spec.layers.size());
  double nll = 0.0;
  constexpr std::size_t kBatch = 8;
  for (std::size_t i = 0; i < sequences.size();) {
    std::size_t j = i;
    std::vector<std::int64_t> flat;
    while (j < sequences.size() && j - i < kBatch && sequences[j].size() == sequences[i].size()) {
      flat.insert(flat.end(), sequences[j].begin(), sequences[j].end());
      ++j;
    }
    const at::Tensor batch = ids_tensor(flat, int64_t(j - i));
    const ForwardOut out = forward(spec, p, batch);
    nll += nll_sum(out.logits, batch).item<double>();
    result.tokens += (j - i) * (sequences[i].size() - 1);
    for (std::size_t l = 0; l < load.size(); ++l) {
      load[l] = load[l].defined() ? load[l] + out.counts[l] : out.counts[l];
    }
    i = j;
  }
  result.nll = nll / double(result.tokens);
  result.perplexity = std::exp(result.nll);
  for (const at::Tensor& counts : load) {
    const at::Tensor share = (counts / counts.sum()).to(at::kDouble).contiguous();
    result.expert_load.emplace_back(share.data_ptr<double>(),
                                    share.data_ptr<double>() + share.numel());
  }
  return result;
}

double learning_rate(const TrainOptions& o, int step, int warmup) {
  if (step <= warmup) return o.lr * double(step) / double(std::max(warmup, 1));
  const double progress = double(step - warmup) / double(std::max(o.steps - warmup, 1));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(progress, 1.0)));
  return o.lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
}

}  // namespace

hc::Result<TrainedModel> train_model(const TrainShape& shape, const TrainOptions& o,
                                     const std::vector<std::int32_t>& train_ids,
                                     const std::vector<std::int32_t>& heldout_ids,
                                     const TrainProgress& progress) {
  auto config = train_config_json(shape);
  if (!config.ok()) return config.error();
  if (o.seq_len < 2) return invalid("the sequence length must be at least 2");
  if (o.batch < 1 || o.steps < 1) return invalid("batch size and step count must be positive");
  if (o.eval_seq_len == 1 || o.eval_seq_len < 0)
    return invalid("the evaluation sequence length must be at least 2");
  const int eval_seq_len = o.eval_seq_len > 0 ? o.eval_seq_len : o.seq_len;
  if (!(o.lr > 0.0)) return invalid("the learning rate must be positive");
  if (train_ids.size() < std::size_t(o.seq_len) + 1) {
    return invalid(
        "the training text has " + std::to_string(train_ids.size()) +
        " tokens, fewer than the sequence length + 1 = " + std::to_string(o.seq_len + 1));
  }
  for (const auto* ids : {&train_ids, &heldout_ids}) {
    for (std::int32_t id : *ids) {
      if (id < 0 || id >= shape.vocab) {
        return invalid("token id " + std::to_string(id) + " is outside the vocabulary of " +
                       std::to_string(shape.vocab));
      }
    }
  }
  auto spec_result = model_spec_from_config(*config);
  if (!spec_result.ok()) return spec_result.error();
  const MoeModelSpec spec = std::move(spec_result).value();

  try {
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::manual_seed(o.seed);
    TrainedModel model;
    model.config = *config;
    // Parameters: every tensor the spec expects; 1-D ones are norm weights (start at 1).
    Params params;
    for (const ExpectedTensor& t : expected_tensors(spec)) {
      std::vector<int64_t> dims(t.shape.begin(), t.shape.end());
      at::Tensor value = dims.size() == 1 ? at::ones(dims) : at::randn(dims) * 0.02;
      value.set_requires_grad(true);
      params[t.name] = value;
      model.shapes[t.name] = t.shape;
    }
    model.initial = evaluate(spec, rounded_to_bf16(params), heldout_ids, eval_seq_len);

    Params m, v;
    for (const auto& [name, t] : params) {
      m[name] = at::zeros_like(t).detach();
      v[name] = at::zeros_like(t).detach();
    }
    const int warmup = o.warmup >= 0 ? o.warmup : std::min(100, o.steps / 10);
    std::mt19937_64 rng(o.seed);
    std::uniform_int_distribution<std::size_t> pick(0,
                                                    train_ids.size() - std::size_t(o.seq_len) - 1);
    const auto start = std::chrono::steady_clock::now();
    for (int step = 1; step <= o.steps; ++step) {
      const auto step_start = std::chrono::steady_clock::now();
      std::vector<std::int64_t> flat;
      flat.reserve(std::size_t(o.batch) * (o.seq_len + 1));
      for (int b = 0; b < o.batch; ++b) {
        const std::size_t s = pick(rng);
        flat.insert(flat.end(), train_ids.begin() + s, train_ids.begin() + s + o.seq_len + 1);
      }
      const at::Tensor batch = ids_tensor(flat, o.batch);  // [B, seq_len + 1]
      const at::Tensor inputs = batch.narrow(1, 0, o.seq_len);
      const ForwardOut out = forward(spec, params, inputs);
      const at::Tensor logp = at::log_softmax(out.logits, -1);
      const at::Tensor ce = -logp.gather(2, batch.narrow(1, 1, o.seq_len).unsqueeze(2)).mean();
      const at::Tensor loss = ce + o.aux_coef * out.aux;
      for (auto& [name, t] : params) t.mutable_grad() = at::Tensor();
      loss.backward();

      const double lr = learning_rate(o, step, warmup);
      {
        const at::NoGradGuard no_grad;
        double norm2 = 0.0;
        for (const auto& [name, t] : params) {
          if (t.grad().defined()) norm2 += t.grad().pow(2).sum().item<double>();
        }
        const double clip = o.grad_clip > 0 && std::sqrt(norm2) > o.grad_clip
                                ? o.grad_clip / std::sqrt(norm2)
                                : 1.0;
        const double c1 = 1.0 - std::pow(o.beta1, step), c2 = 1.0 - std::pow(o.beta2, step);
        for (auto& [name, t] : params) {
          if (!t.grad().defined()) continue;
          const at::Tensor g = t.grad() * clip;
          m[name].mul_(o.beta1).add_(g, 1.0 - o.beta1);
          v[name].mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
          if (t.dim() > 1 && o.weight_decay > 0) t.mul_(1.0 - lr * o.weight_decay);
          const at::Tensor denom = (v[name] / c2).sqrt_().add_(1e-8);
          t.addcdiv_(m[name], denom, -lr / c1);
        }
      }
      const double ce_value = ce.item<double>();
      if (!std::isfinite(ce_value)) {
        return hc::make_error(hc::ErrorCode::NumericalFailure,
                              "training diverged at step " + std::to_string(step) +
                                  " (loss is not finite); try a smaller learning rate");
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      model.losses.push_back(ce_value);
      model.step_seconds.push_back(seconds);
      if (progress)
        progress(TrainStep{step, o.steps, ce_value, out.aux.item<double>(), lr, seconds});
    }
    model.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const Params final_params = rounded_to_bf16(params);
    model.heldout = evaluate(spec, final_params, heldout_ids, eval_seq_len);
    for (const auto& [name, t] : final_params) {
      const at::Tensor c = t.contiguous();
      model.tensors[name].assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    }
    return model;
  } catch (...) {
    return error_from_exception(std::current_exception(), "training failed",
                                hc::ErrorCode::NumericalFailure);
  }
}

}  // namespace hc::native
