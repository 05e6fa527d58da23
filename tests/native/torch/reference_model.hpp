// Independent plain-loop reference of every supported family (double precision, whole model in
// memory, no LibTorch), written from docs/FAMILIES.md and the transformers modeling code rather
// than from forward_*.cpp: the streamed LibTorch forward is tested against it.
#pragma once

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "hc/native/checkpoint.hpp"
#include "hc/native/model_spec.hpp"

namespace hc::test {

using Vec = std::vector<double>;

// Indices of the k largest scores; equal scores keep index order (lower index wins).
inline std::vector<int> reference_topk(const Vec& scores, int k) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return scores[std::size_t(a)] > scores[std::size_t(b)]; });
  order.resize(std::size_t(k));
  return order;
}

// Scores of experts outside the topk_group best groups (group score per `group_score`) set to 0.
template <typename GroupScore>
Vec reference_mask_groups(const Vec& scores, int n_group, int topk_group, GroupScore group_score) {
  const std::size_t per = scores.size() / std::size_t(n_group);
  Vec g(static_cast<std::size_t>(n_group));
  for (std::size_t G = 0; G < g.size(); ++G)
    g[G] = group_score(Vec(scores.begin() + long(G * per), scores.begin() + long((G + 1) * per)));
  const std::vector<int> keep = reference_topk(g, topk_group);
  Vec masked(scores.size(), 0.0);
  for (int G : keep)
    for (std::size_t i = std::size_t(G) * per; i < (std::size_t(G) + 1) * per; ++i)
      masked[i] = scores[i];
  return masked;
}

struct Reference {
  const hc::native::Checkpoint& ck;
  const hc::native::MoeModelSpec& s;
  std::map<std::string, std::vector<float>> cache;

  std::vector<std::vector<int>> selected;  // per MoE layer and token, last run
  std::vector<Vec> gates;

  const std::vector<float>& w(const std::string& name) {
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
    auto v = ck.read_f32(name);
    BOOST_REQUIRE_MESSAGE(v.ok(), (v.ok() ? std::string() : v.error().message));
    return cache[name] = *v;
  }
  // y = W x, W [out, in] row-major.
  Vec matvec(const std::string& name, const Vec& x) {
    const auto& m = w(name);
    const std::size_t in = x.size(), out = m.size() / in;
    Vec y(out, 0.0);
    for (std::size_t o = 0; o < out; ++o)
      for (std::size_t i = 0; i < in; ++i) y[o] += double(m[o * in + i]) * x[i];
    return y;
  }
  void add_bias(Vec& y, const std::string& name) {
    if (name.empty()) return;
    const auto& b = w(name);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += b[i];
  }
  // RMSNorm of x[off, off+n) with weight[woff, woff+n).
  void norm(Vec& x, std::size_t off, std::size_t n, const std::string& name, std::size_t woff,
            double eps) {
    const auto& g = w(name);
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
    const double inv = 1.0 / std::sqrt(ss / double(n) + eps);
    for (std::size_t i = 0; i < n; ++i) x[off + i] = x[off + i] * inv * g[woff + i];
  }
  void norm(Vec& x, std::size_t off, std::size_t n, const std::string& name, std::size_t woff) {
    norm(x, off, n, name, woff, s.rms_norm_eps);
  }
  static double silu(double v) { return v / (1.0 + std::exp(-v)); }
  Vec mlp(const hc::native::MlpNames& n, const Vec& x) {
    Vec g = matvec(n.gate, x), u = matvec(n.up, x);
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
    return matvec(n.down, g);
  }
  // gpt-oss expert e: gate_up [E, H, 2I] used as x @ W with gate = even columns, up = odd;
  // down [E, I, H]; biases; clamped SwiGLU.
  Vec fused_interleaved_expert(const hc::native::LayerSpec& L, int e, const Vec& x) {
    const std::size_t H = x.size(), I = std::size_t(s.moe_intermediate_size);
    const auto& gu = w(L.fused_gate_up);
    const auto& gub = w(L.fused_gate_up_bias);
    const auto& dn = w(L.fused_down);
    const auto& dnb = w(L.fused_down_bias);
    const std::size_t E0 = std::size_t(e);
    Vec act(I);
    for (std::size_t j = 0; j < I; ++j) {
      double g = gub[E0 * 2 * I + 2 * j], u = gub[E0 * 2 * I + 2 * j + 1];
      for (std::size_t h = 0; h < H; ++h) {
        g += x[h] * gu[(E0 * H + h) * 2 * I + 2 * j];
        u += x[h] * gu[(E0 * H + h) * 2 * I + 2 * j + 1];
      }
      g = std::min(g, s.swiglu_limit);
      u = std::max(-s.swiglu_limit, std::min(u, s.swiglu_limit));
      act[j] = (u + 1.0) * g / (1.0 + std::exp(-1.702 * g));
    }
    Vec y(H);
    for (std::size_t o = 0; o < H; ++o) {
      y[o] = dnb[E0 * H + o];
      for (std::size_t j = 0; j < I; ++j) y[o] += act[j] * dn[(E0 * I + j) * H + o];
    }
    return y;
  }
  // Rotates v[off, off+d) at position pos: pairs (i, i + d/2), or (2i, 2i+1) when interleaved;
  // the frequency table (default or yarn) is the spec's, checked on its own by the yarn test,
  // and cos/sin carry the yarn attention factor.
  void rope(Vec& v, std::size_t off, std::size_t d, std::size_t pos) {
    BOOST_REQUIRE(s.rope_inv_freq.size() == d / 2);
    const double f = s.rope_attention_factor;
    for (std::size_t i = 0; i < d / 2; ++i) {
      const double a = double(pos) * s.rope_inv_freq[i];
      const std::size_t i1 = s.rope_interleaved ? off + 2 * i : off + i;
      const std::size_t i2 = s.rope_interleaved ? off + 2 * i + 1 : off + i + d / 2;
      const double x1 = v[i1], x2 = v[i2];
      v[i1] = f * (x1 * std::cos(a) - x2 * std::sin(a));
      v[i2] = f * (x2 * std::cos(a) + x1 * std::sin(a));
    }
  }

  // Routing of one token by the family's formula (docs/FAMILIES.md).
  void route(const hc::native::LayerSpec& L, const Vec& x, std::vector<int>& sel, Vec& g) {
    using hc::native::RoutingKind;
    Vec l = matvec(L.router, x);
    add_bias(l, L.router_bias);
    const int k = s.top_k;
    if (s.routing == RoutingKind::TopkSoftmax) {
      sel = reference_topk(l, k);
      double z = 0;
      for (int e : sel) z += std::exp(l[std::size_t(e)] - l[std::size_t(sel[0])]);
      g.clear();
      for (int e : sel) g.push_back(std::exp(l[std::size_t(e)] - l[std::size_t(sel[0])]) / z);
      return;
    }
    if (s.routing == RoutingKind::NoauxTc) {
      Vec sc(l.size()), c(l.size());
      const auto& b = w(L.correction_bias);
      for (std::size_t e = 0; e < l.size(); ++e) {
        sc[e] = 1.0 / (1.0 + std::exp(-l[e]));
        c[e] = sc[e] + b[e];
      }
      const Vec masked = reference_mask_groups(c, s.n_group, s.topk_group, [](Vec grp) {
        std::sort(grp.begin(), grp.end(), std::greater<double>());
        return grp[0] + grp[1];
      });
      sel = reference_topk(masked, k);
      double sum = 0;
      for (int e : sel) sum += sc[std::size_t(e)];
      g.clear();
      for (int e : sel)
        g.push_back(sc[std::size_t(e)] / (s.norm_topk_prob ? sum + 1e-20 : 1.0) *
                    s.routed_scaling_factor);
      return;
    }
    const double mx = *std::max_element(l.begin(), l.end());
    double z = 0;
    for (auto& e : l) z += (e = std::exp(e - mx));
    for (auto& e : l) e /= z;
    Vec choice = l;
    if (s.routing == RoutingKind::GroupLimitedGreedy) {
      choice = reference_mask_groups(l, s.n_group, s.topk_group, [](const Vec& grp) {
        return *std::max_element(grp.begin(), grp.end());
      });
    }
    sel = reference_topk(choice, k);
    double sum = 0;
    for (int e : sel) sum += l[std::size_t(e)];
    g.clear();
    for (int e : sel)
      g.push_back(l[std::size_t(e)] / (s.norm_topk_prob ? sum : 1.0) * s.routed_scaling_factor);
  }

  // Attention of one layer for all tokens: q [T][heads*dq], k [T][heads*dq] (after RoPE,
  // keys already per query head), v [T][heads*dv] -> [T][heads*dv].
  std::vector<Vec> attend(const hc::native::LayerSpec& L, const std::vector<Vec>& q,
                          const std::vector<Vec>& k, const std::vector<Vec>& v, std::size_t nh,
                          std::size_t dq, std::size_t dv, double scale, std::size_t kv_groups) {
    const std::size_t T = q.size();
    std::vector<Vec> out(T, Vec(nh * dv, 0.0));
    for (std::size_t t = 0; t < T; ++t) {
      for (std::size_t a = 0; a < nh; ++a) {
        const std::size_t kvh = a / kv_groups;
        std::size_t first = 0;
        if (L.sliding && t + 1 > std::size_t(s.sliding_window))
          first = t + 1 - std::size_t(s.sliding_window);
        Vec sc;
        double mx = -1e300;
        for (std::size_t u = first; u <= t; ++u) {
          double d = 0;
          for (std::size_t i = 0; i < dq; ++i) d += q[t][a * dq + i] * k[u][kvh * dq + i];
          sc.push_back(d * scale);
          mx = std::max(mx, sc.back());
        }
        double sink = 0;
        if (!L.sinks.empty()) {
          sink = w(L.sinks)[a];
          mx = std::max(mx, sink);
        }
        double z = L.sinks.empty() ? 0.0 : std::exp(sink - mx);
        for (auto& x : sc) z += (x = std::exp(x - mx));
        for (std::size_t u = first; u <= t; ++u)
          for (std::size_t i = 0; i < dv; ++i)
            out[t][a * dv + i] += sc[u - first] / z * v[u][kvh * dv + i];
      }
    }
    return out;
  }

  // Normed inputs x [T][H] -> attention outputs before o_proj.
  std::vector<Vec> standard_attention(const hc::native::LayerSpec& L, const std::vector<Vec>& xs) {
    using hc::native::QkNorm;
    const std::size_t T = xs.size(), hd = std::size_t(s.head_dim);
    const std::size_t nh = std::size_t(s.num_heads), nkv = std::size_t(s.num_kv_heads);
    std::vector<Vec> q(T), k(T), v(T);
    for (std::size_t t = 0; t < T; ++t) {
      q[t] = matvec(L.q_proj, xs[t]), k[t] = matvec(L.k_proj, xs[t]),
      v[t] = matvec(L.v_proj, xs[t]);
      add_bias(q[t], L.q_bias), add_bias(k[t], L.k_bias), add_bias(v[t], L.v_bias);
      if (s.qk_norm == QkNorm::Full) {
        norm(q[t], 0, nh * hd, L.q_norm, 0), norm(k[t], 0, nkv * hd, L.k_norm, 0);
      }
      for (std::size_t a = 0; a < nh; ++a) {
        if (s.qk_norm == QkNorm::PerHead) norm(q[t], a * hd, hd, L.q_norm, 0);
        rope(q[t], a * hd, hd, t);
      }
      for (std::size_t a = 0; a < nkv; ++a) {
        if (s.qk_norm == QkNorm::PerHead) norm(k[t], a * hd, hd, L.k_norm, 0);
        rope(k[t], a * hd, hd, t);
      }
    }
    return attend(L, q, k, v, nh, hd, hd, s.softmax_scale_factor / std::sqrt(double(hd)), nh / nkv);
  }

  // DeepSeek MLA; q_a/kv_a norms use eps 1e-6 as transformers' RMSNorm default.
  std::vector<Vec> mla_attention(const hc::native::LayerSpec& L, const std::vector<Vec>& xs) {
    const std::size_t T = xs.size(), nh = std::size_t(s.num_heads);
    const std::size_t nope = std::size_t(s.qk_nope_head_dim), rp = std::size_t(s.qk_rope_head_dim);
    const std::size_t vd = std::size_t(s.v_head_dim), r = std::size_t(s.kv_lora_rank);
    const std::size_t dq = nope + rp;
    std::vector<Vec> q(T), k(T, Vec(nh * dq)), v(T, Vec(nh * vd));
    for (std::size_t t = 0; t < T; ++t) {
      if (s.q_lora_rank == 0) {
        q[t] = matvec(L.q_proj, xs[t]);
      } else {
        Vec qa = matvec(L.q_a_proj, xs[t]);
        norm(qa, 0, qa.size(), L.q_a_norm, 0, 1e-6);
        q[t] = matvec(L.q_b_proj, qa);
      }
      for (std::size_t a = 0; a < nh; ++a) rope(q[t], a * dq + nope, rp, t);
      Vec ckv = matvec(L.kv_a_proj, xs[t]);  // [r + rope]
      Vec latent(ckv.begin(), ckv.begin() + long(r));
      norm(latent, 0, r, L.kv_a_norm, 0, 1e-6);
      const Vec kv = matvec(L.kv_b_proj, latent);  // [heads * (nope + v)]
      rope(ckv, r, rp, t);
      for (std::size_t a = 0; a < nh; ++a) {
        for (std::size_t i = 0; i < nope; ++i) k[t][a * dq + i] = kv[a * (nope + vd) + i];
        for (std::size_t i = 0; i < rp; ++i) k[t][a * dq + nope + i] = ckv[r + i];
        for (std::size_t i = 0; i < vd; ++i) v[t][a * vd + i] = kv[a * (nope + vd) + nope + i];
      }
    }
    return attend(L, q, k, v, nh, dq, vd, s.softmax_scale_factor / std::sqrt(double(dq)), 1);
  }

  std::vector<Vec> logits(const std::vector<std::int32_t>& ids) {
    using hc::native::AttentionKind;
    using hc::native::ExpertLayout;
    const std::size_t H = std::size_t(s.hidden_size), T = ids.size();
    std::vector<Vec> h(T, Vec(H));
    const auto& emb = w(s.embed_tokens);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < H; ++i) h[t][i] = emb[std::size_t(ids[t]) * H + i];
    selected.clear();
    gates.clear();
    for (const hc::native::LayerSpec& L : s.layers) {
      std::vector<Vec> xs(T);
      for (std::size_t t = 0; t < T; ++t) {
        xs[t] = h[t];
        norm(xs[t], 0, H, L.input_norm, 0);
      }
      const std::vector<Vec> att =
          s.attention == AttentionKind::Mla ? mla_attention(L, xs) : standard_attention(L, xs);
      for (std::size_t t = 0; t < T; ++t) {
        Vec o = matvec(L.o_proj, att[t]);
        add_bias(o, L.o_bias);
        for (std::size_t i = 0; i < H; ++i) h[t][i] += o[i];
      }
      for (std::size_t t = 0; t < T; ++t) {
        Vec x = h[t];
        norm(x, 0, H, L.post_attention_norm, 0);
        Vec y(H, 0.0);
        if (!L.moe) {
          y = mlp(L.dense, x);
        } else {
          std::vector<int> sel;
          Vec g;
          route(L, x, sel, g);
          for (std::size_t j = 0; j < sel.size(); ++j) {
            const Vec ye = s.layout == ExpertLayout::FusedInterleaved
                               ? fused_interleaved_expert(L, sel[j], x)
                               : mlp(L.experts[std::size_t(sel[j])], x);
            for (std::size_t i = 0; i < H; ++i) y[i] += g[j] * ye[i];
          }
          if (!L.shared_expert.gate.empty()) {
            const Vec ys = mlp(L.shared_expert, x);
            double sg = 1.0;
            if (!L.shared_expert_gate.empty())
              sg = 1.0 / (1.0 + std::exp(-matvec(L.shared_expert_gate, x)[0]));
            for (std::size_t i = 0; i < H; ++i) y[i] += sg * ys[i];
          }
          selected.push_back(sel);
          gates.push_back(g);
        }
        for (std::size_t i = 0; i < H; ++i) h[t][i] += y[i];
      }
    }
    std::vector<Vec> out(T);
    for (std::size_t t = 0; t < T; ++t) {
      norm(h[t], 0, H, s.final_norm, 0);
      out[t] = matvec(s.lm_head.empty() ? s.embed_tokens : s.lm_head, h[t]);
    }
    return out;
  }
};

}  // namespace hc::test
