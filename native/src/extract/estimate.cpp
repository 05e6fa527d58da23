// The extraction cost model: FLOPs per stage counted from the model's shapes and the expected
// routed-token counts under uniform routing, memory from what one layer keeps resident, disk
// reads from the checkpoint's tensor sizes, time from a device's sustained throughput.
#include "hc/native/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace hc::native {
namespace {

// Expected tokens routed to at least one of `group` given experts when each token picks k of E
// uniformly: T (1 - C(E-g, k) / C(E, k)).
double union_tokens(double tokens, int experts, int top_k, int group) {
  double none = 1.0;
  for (int j = 0; j < group; ++j) none *= double(experts - top_k - j) / double(experts - j);
  return tokens * (1.0 - std::max(0.0, none));
}

// Attention FLOPs per token of one layer (projections, scores and values over S/2 keys).
double attention_flops(const MoeModelSpec& s, double seq_len) {
  const double h = s.hidden_size, heads = s.num_heads;
  if (s.attention == AttentionKind::Mla) {
    const double qk = s.qk_nope_head_dim + s.qk_rope_head_dim;
    const double q = s.q_lora_rank > 0 ? 2 * h * s.q_lora_rank + 2.0 * s.q_lora_rank * heads * qk
                                       : 2 * h * heads * qk;
    const double kv = 2 * h * (s.kv_lora_rank + s.qk_rope_head_dim) +
                      2.0 * s.kv_lora_rank * heads * (s.qk_nope_head_dim + s.v_head_dim);
    const double out = 2 * heads * s.v_head_dim * h;
    return q + kv + out + 2 * heads * (qk + s.v_head_dim) * seq_len / 2;
  }
  const double d = s.head_dim, kv_heads = s.num_kv_heads;
  const double proj = 2 * h * (heads + 2 * kv_heads) * d + 2 * heads * d * h;
  const double keys =
      s.sliding_window > 0 ? std::min(seq_len / 2, double(s.sliding_window)) : seq_len / 2;
  return proj + 2 * heads * 2 * d * keys;
}

double shared_intermediate(const MoeModelSpec& s) {
  return s.shared_expert_intermediate_size > 0
             ? s.shared_expert_intermediate_size
             : double(s.n_shared_experts) * s.moe_intermediate_size;
}

double layer_of(const std::string& name) {
  const auto at = name.find("layers.");
  if (at == std::string::npos) return -1;
  return std::atof(name.c_str() + at + 7);
}

}  // namespace

hc::Result<DeviceProfile> named_device_profile(const std::string& name) {
  // Dense datasheet peaks (FLOP/s) for fp32, tf32, bf16, fp64 and memory bandwidth, times 0.6
  // sustained.
  struct Known {
    const char* name;
    double fp32, tf32, bf16, fp64, memory, bandwidth;
  };
  static const Known known[] = {
      {"a100", 19.5e12, 156e12, 312e12, 19.5e12, 80e9, 2.0e12},
      {"h100", 67e12, 495e12, 990e12, 67e12, 80e9, 3.35e12},
      {"h200", 67e12, 495e12, 990e12, 67e12, 141e9, 4.8e12},
      {"b200", 80e12, 1100e12, 2250e12, 40e12, 180e9, 8.0e12},
  };
  for (const Known& k : known) {
    if (name != k.name) continue;
    DeviceProfile p;
    p.name = k.name;
    p.fp32 = 0.6 * k.fp32;
    p.tf32 = 0.6 * k.tf32;
    p.bf16 = 0.6 * k.bf16;
    p.fp64 = 0.6 * k.fp64;
    p.memory_bytes = k.memory;
    p.bytes_per_s = 0.6 * k.bandwidth;
    return p;
  }
  return hc::make_error(hc::ErrorCode::InvalidArgument,
                        name + ": expected cpu, a100, h100, h200 or b200 for an estimate");
}

ExtractEstimate estimate_extract(const MoeModelSpec& s, const EstimateRequest& r,
                                 const DeviceProfile& device) {
  ExtractEstimate out;
  const double T = double(r.tokens), S = double(r.seq_len), P = std::max(1, r.processes);
  const double H = s.hidden_size, V = s.vocab_size, E = s.num_experts, k = s.top_k;
  const double I = s.moe_intermediate_size;
  const std::vector<int> moe = s.moe_layers();
  out.moe_layers = static_cast<int>(moe.size());
  const double L_moe = double(moe.size());
  const double product_rate = r.dtype == ComputeDtype::Bf16   ? device.bf16
                              : r.dtype == ComputeDtype::Tf32 ? device.tf32
                                                              : device.fp32;
  // fp32 runs form expert outputs in fp64 (docs/DISTRIBUTED.md), bf16 runs in bf16.
  const double mlp_rate = r.dtype == ComputeDtype::Bf16 ? device.bf16 : device.fp64;
  const double mlp_value_bytes = r.dtype == ComputeDtype::Bf16 ? 4.0 : 8.0;

  // Forward: every layer over every token.
  double forward = 0.0;
  for (const LayerSpec& layer : s.layers) {
    double per_token = attention_flops(s, S);
    if (layer.moe) {
      per_token += 2 * H * E + k * 6 * H * I + 6 * H * shared_intermediate(s);
    } else {
      per_token += 6 * H * s.intermediate_size;
    }
    forward += T * per_token;
  }
  const double head = 2 * H * V;  // per row
  // kl_full reruns, per group, the layers after the scored one: half the model on average.
  const double later_layers_per_token = forward / T / 2;
  if (r.barrier == BarrierKind::KlFull) forward += T * head;

  // Statistics: every expert's output on its routed tokens (fp32, and again for the deltas).
  const double statistics = L_moe * T * k * 6 * H * I;
  const double statistics_mlp = L_moe * T * k * 6 * H * I;

  // Barrier groups: a merged MLP on the group's routed tokens plus, for the KL barriers, one LM
  // head row each (plus the unperturbed rows once per layer).
  const double pairs = E * (E - 1) / 2;
  const double triples_possible = E * (E - 1) * (E - 2) / 6;
  const double q = r.candidate_quantile;
  const double triples = std::min(double(r.max_triangles), triples_possible * q * q * q);
  const double u2 = union_tokens(T, s.num_experts, s.top_k, 2);
  const double u3 = union_tokens(T, s.num_experts, s.top_k, 3);
  out.pair_groups = pairs;
  out.triangle_groups = triples;
  out.merged_token_evaluations = L_moe * (pairs * u2 + triples * u3);
  // kl_lens scores each row on C columns: the whole vocabulary, or (top-m) each token's
  // support and tail sample, whose LM-head rows are gathered once per token and batch.
  const bool top_m = r.barrier == BarrierKind::KlLens &&
                     resolve_lens_support(r.lens, s.vocab_size) == LensSupport::TopM;
  const double C =
      top_m ? std::min(double(r.lens.max_support), V) + double(std::max(r.lens.tail_samples, 0))
            : V;
  // Memory traffic of one scored row: the logit shift written and read in fp32, about 13
  // passes over the fp64 KL terms (conversions, two log-sum-exps, the weighted sum), and about
  // ten fp64 passes over the hidden state (the normed shift).
  double row_bytes = C * (4 * 4 + 13 * 8) + H * 8 * 10;
  if (top_m) {
    // Each batch gathers the LM-head rows of every token it holds once (copied, then read by
    // the product): a batch is 2^27 / H rows (at least 512), so a token's gather is shared by
    // its rows in that batch, about batch / T of them when the batch holds every token.
    const double batch = std::max(512.0, double(int64_t(1) << 27) / H);
    const double head_value = r.dtype == ComputeDtype::Bf16 ? 2.0 : 4.0;
    row_bytes += C * H * head_value * 2 * std::min(1.0, T / P / batch);
  }
  auto group_cost = [&](double groups, double rows, double members) {
    double mlp = groups * (rows * 6 * H * I + members * 3 * H * I);
    double head_flops = 0.0;
    if (r.barrier == BarrierKind::KlLens) {
      head_flops = groups * rows * (2 * H * C + 12 * C);  // product + fp64 softmax/KL terms
    } else if (r.barrier == BarrierKind::KlFull) {
      // Each group reruns the later layers over every token.
      head_flops = groups * T * (head + later_layers_per_token);
    }
    return std::pair{mlp, head_flops};
  };
  auto traffic = [&](double groups, double rows) {
    return r.barrier == BarrierKind::KlLens ? groups * rows * row_bytes : 0.0;
  };
  const auto [pair_mlp, pair_head] = group_cost(pairs, u2, 2);
  // Directed substitutions: every ordered pair (i, j) runs expert j on i's routed tokens (no
  // merged weights), one scored row per token.
  const double substitutions = E * (E - 1);
  const double routed = T * k / std::max(1.0, E);
  const auto [sub_mlp, sub_head] = group_cost(substitutions, routed, 0);
  const auto [tri_mlp, tri_head] = group_cost(triples, u3, 3);
  // Once per layer and token: the unperturbed logits (top-m: also the tail's p-weighted head
  // row, and about ten fp32 passes over the vocabulary to find the support and sample).
  const double base_rows = r.barrier != BarrierKind::KlLens ? 0.0
                           : top_m                          ? T * (2 * head + 10 * V)
                                                            : T * head;

  auto stage = [&](const std::string& name, double product_flops, double mlp_flops, double bytes) {
    StageCost c;
    c.stage = name;
    c.flops = product_flops + mlp_flops;
    c.seconds = (product_flops / product_rate + mlp_flops / mlp_rate +
                 (device.bytes_per_s > 0 ? bytes / device.bytes_per_s : 0.0)) /
                P;
    out.stages.push_back(c);
    out.seconds += c.seconds;
  };
  stage("forward", forward, 0.0, 0.0);
  stage("statistics", statistics, statistics_mlp, 0.0);
  stage("pairs", L_moe * (pair_head + base_rows), L_moe * pair_mlp, L_moe * traffic(pairs, u2));
  stage("substitutions", L_moe * sub_head, L_moe * sub_mlp, L_moe * traffic(substitutions, routed));
  stage("triangles", L_moe * tri_head, L_moe * tri_mlp, L_moe * traffic(triples, u3));

  // Disk: every tensor once (each process reads all of them): the barriers use the experts the
  // forward pass decoded and an LM head read once per run (tested: native.extract).
  double total_values = 0.0, largest_layer = 0.0;
  std::vector<double> per_layer(s.layers.size(), 0.0);
  for (const ExpectedTensor& t : expected_tensors(s)) {
    double n = 1.0;
    for (auto d : t.shape) n *= double(d);
    total_values += n;
    const double layer = layer_of(t.name);
    if (layer >= 0 && layer < double(per_layer.size())) {
      per_layer[static_cast<std::size_t>(layer)] += n;
    }
  }
  for (double v : per_layer) largest_layer = std::max(largest_layer, v);
  const double expert_values = E * 3 * H * I;
  out.disk_bytes = r.checkpoint_bytes_per_value * total_values;
  out.seconds += out.disk_bytes / device.disk_bytes_per_s;

  // Device memory of one process: a decoded layer, the LM head, the embedding table while
  // embedding, and the activations of its tokens.
  const double Tp = T / P;
  // The LM head, read once per run and held in the product dtype.
  const double head_bytes = V * H * (r.dtype == ComputeDtype::Bf16 ? 2.0 : 4.0);
  const double activations =
      Tp * H * 4 * 5 + Tp * k * H * (4 + mlp_value_bytes) + double(s.num_heads) * S * S * 4;
  // Full: the unperturbed log-probabilities [T, V] when they fit 2^28 values, and batches of
  // 512 rows over the vocabulary. Top-m: per token its support, sample and tail row, batches
  // of 2^27 change values in fp64 (the changes, their concatenation and the shift), the
  // shift's chunked temporaries, and 2^24-value gathers of LM-head rows.
  const double base_cache = top_m ? Tp * (C * 8 + (C - r.lens.tail_samples) * 8 + H * 8)
                            : Tp * V <= double(int64_t(1) << 28) ? Tp * V * 4
                                                                 : 0.0;
  // A top-m batch holds at most a stage's rows of this process: their changes (twice, and the
  // shift) in fp64 and their support logit changes [rows, C] (twice) in fp32.
  const double batch_values =
      std::min(double(int64_t(1) << 27), std::max(pairs * u2, triples * u3) / P * H);
  const double head_batch = top_m ? batch_values * 8 * 3 + batch_values / H * C * 4 * 2 +
                                        4096 * H * 8 * 6 + double(int64_t(1) << 24) * 4 * 3 +
                                        64 * V * 8 * 3
                                  : 512 * V * 4 * 3 + 64 * V * 8 * 3;
  // The barriers share the forward's decoded experts; gpt-oss's interleaved gate/up columns are
  // copied to contiguous ones.
  const double barrier_copies = s.layout == ExpertLayout::FusedInterleaved
                                    ? expert_values * 2.0 / 3.0 * r.checkpoint_bytes_per_value
                                    : 0.0;
  // Experts stay in the checkpoint's dtype when it is BF16 or F16 (2 bytes), else fp32; the
  // rest of the layer is decoded to fp32.
  const double held = r.checkpoint_bytes_per_value == 2.0 ? 2.0 : 4.0;
  const double layer_bytes = std::min(expert_values, largest_layer) * held +
                             std::max(0.0, largest_layer - expert_values) * 4;
  const double barriers_peak =
      layer_bytes + barrier_copies + head_bytes + activations + base_cache + head_batch;
  const double embedding_peak = V * H * 4 + Tp * H * 4;
  out.device_peak_bytes = std::max(barriers_peak, embedding_peak);
  // Host: the token ids, the finished layers' statistics, and (CPU runs) the device's share.
  const double layer_stats = E * (H + I) * 4 + (pairs + triples) * 4 * 4 + E * E * 4;
  // Plus the process itself: LibTorch's libraries and allocator, about 190 MiB resident on
  // this project's CPU runs of the bundled models (scripts/estimate_check.sh).
  constexpr double kRuntimeBytes = 192.0 * 1024 * 1024;
  out.host_peak_bytes = kRuntimeBytes + T * 4 * 2 + L_moe * layer_stats;
  if (device.memory_bytes == 0.0) out.host_peak_bytes += out.device_peak_bytes;
  return out;
}

}  // namespace hc::native
