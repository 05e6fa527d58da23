// Benchmark: our kl_lens pair barriers (LayerBarriers: batched LM-head rows, cached unperturbed
// log-probabilities, fp64 KL from the logit shift) against a straightforward LibTorch version of
// the same barriers in the style users write in PyTorch (the layer's inputs captured by a
// forward hook, every pair evaluated alone on its union of routed tokens, a full log-softmax of
// both the original and the merged rows per pair), on the same layer, device and dtype, in the
// same run. Ours runs twice: with the full vocabulary (which must agree with the straightforward
// version) and with the top-m support (the default), whose error against full is reported as
// the distribution of relative errors and the Spearman correlation of the pair barriers.
// Usage: bench_extract_baseline [--hidden H] [--experts E] [--vocab V] [--tokens N]
//                               [--head-scale S] [--max-support M] [--tail-mass EPS]
//                               [--tail-samples R] [--expert-scale S] [--profile]
//                               [--device cpu|cuda] [--compute-dtype fp32|bf16]
// --head-scale multiplies the LM head so that the next-token distributions are peaked like a
// trained model's; the run prints their entropy.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint_fixture.hpp"
#include "hc/merge.hpp"
#include "hc/native/barriers.hpp"
#include "hc/native/device.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/forward_ops.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using Clock = std::chrono::steady_clock;
namespace ops = hc::native::detail;

namespace {

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The straightforward version: one pair at a time, nothing shared between pairs.
std::vector<double> straightforward(const ForwardModel& model, const LayerObservation& obs,
                                    const std::vector<std::vector<int>>& pairs,
                                    at::ScalarType dtype) {
  const MoeModelSpec& spec = model.spec();
  const LayerSpec& layer = spec.layers.at(static_cast<std::size_t>(obs.layer));
  const at::Device device = model.device();
  ops::FusedCache fused;
  std::vector<ops::ExpertWeights> experts;
  for (int e = 0; e < spec.num_experts; ++e) {
    experts.push_back(ops::expert_weights_as(
        ops::load_expert(spec, layer, model.checkpoint(), e, device, fused), at::kFloat));
  }
  const at::Tensor norm = ops::load_tensor(model.checkpoint(), spec.final_norm, device);
  const at::Tensor head =
      ops::load_tensor(model.checkpoint(), spec.lm_head.empty() ? spec.embed_tokens : spec.lm_head,
                       device)
          .to(dtype);
  const at::Tensor x = obs.x.to(at::kFloat), out = obs.output.to(at::kFloat);
  const at::Tensor selected = obs.selected.to(device), gates = obs.gates.to(at::kFloat);
  const double tokens = double(x.size(0));
  auto logp = [&](const at::Tensor& h) {
    return at::log_softmax(
        at::linear(ops::rms_norm(h, norm, spec.rms_norm_eps).to(dtype), head).to(at::kFloat), -1);
  };
  auto mlp = [&](const ops::ExpertWeights& w, const at::Tensor& rows) {
    ops::ExpertWeights c;
    c.gate = w.gate.to(dtype);
    c.up = w.up.to(dtype);
    c.down = w.down.to(dtype);
    return ops::expert_mlp(spec, c, rows.to(dtype)).to(at::kFloat);
  };
  std::vector<double> result;
  for (const auto& pair : pairs) {
    const int i = pair[0], j = pair[1];
    const at::Tensor hit_i = (selected == i), hit_j = (selected == j);
    const at::Tensor rows = at::nonzero((hit_i | hit_j).any(1)).squeeze(1);
    const double fi = hit_i.sum().item<double>() / tokens, fj = hit_j.sum().item<double>() / tokens;
    const std::vector<double> freq{fi, fj};
    const std::vector<double> pi = hc::merge_coefficients(freq);
    ops::ExpertWeights merged;
    merged.gate = pi[0] * experts[i].gate + pi[1] * experts[j].gate;
    merged.up = pi[0] * experts[i].up + pi[1] * experts[j].up;
    merged.down = pi[0] * experts[i].down + pi[1] * experts[j].down;
    const at::Tensor xr = x.index_select(0, rows);
    const at::Tensor m = mlp(merged, xr);
    const at::Tensor gi = (gates.index_select(0, rows) * hit_i.index_select(0, rows)).sum(1, true);
    const at::Tensor gj = (gates.index_select(0, rows) * hit_j.index_select(0, rows)).sum(1, true);
    const at::Tensor delta = gi * (m - mlp(experts[i], xr)) + gj * (m - mlp(experts[j], xr));
    const at::Tensor base = out.index_select(0, rows);
    const at::Tensor p = logp(base), q = logp(base + delta);
    result.push_back((p.exp() * (p - q)).sum().item<double>() / tokens);
  }
  return result;
}

// Spearman rank correlation (average ranks for ties).
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t x, std::size_t y) { return v[x] < v[y]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
      std::size_t j = i;
      while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
      for (std::size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * double(i + j);
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = double(a.size()), mean = 0.5 * (n - 1.0);
  double sab = 0.0, saa = 0.0, sbb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  return saa > 0.0 && sbb > 0.0 ? sab / std::sqrt(saa * sbb) : 1.0;
}

double quantile_of(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[static_cast<std::size_t>(q * double(v.size() - 1) + 0.5)];
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator_for_tensors();
  FixtureSizes sizes;
  sizes.layers = 1;
  sizes.hidden = std::atoi(arg(argc, argv, "--hidden", "256"));
  sizes.heads = 4;
  sizes.kv_heads = 2;
  sizes.experts = std::atoi(arg(argc, argv, "--experts", "16"));
  sizes.top_k = 2;
  sizes.moe_intermediate = sizes.hidden;
  sizes.vocab = std::atoi(arg(argc, argv, "--vocab", "32000"));
  sizes.head_scale = static_cast<float>(std::atof(arg(argc, argv, "--head-scale", "1")));
  sizes.expert_scale = static_cast<float>(std::atof(arg(argc, argv, "--expert-scale", "1")));
  LensSupportOptions top_m;
  top_m.kind = LensSupport::TopM;
  top_m.max_support = std::atoi(arg(argc, argv, "--max-support", "256"));
  top_m.tail_mass = std::atof(arg(argc, argv, "--tail-mass", "0.001"));
  top_m.tail_samples = std::atoi(arg(argc, argv, "--tail-samples", "64"));
  const long tokens = std::atol(arg(argc, argv, "--tokens", "1024"));
  auto device = parse_device(arg(argc, argv, "--device", "cpu"));
  auto dtype = device.ok()
                   ? parse_compute_dtype(arg(argc, argv, "--compute-dtype", "fp32"), *device)
                   : hc::Result<ComputeDtype>(device.error());
  if (!device.ok() || !dtype.ok()) {
    std::fprintf(stderr, "bench_extract_baseline: %s\n",
                 (device.ok() ? dtype.error() : device.error()).message.c_str());
    return 2;
  }
  const fs::path model_dir =
      fs::temp_directory_path() / "hc-bench-baseline" /
      ("olmoe-" + std::to_string(sizes.hidden) + "x" + std::to_string(sizes.experts) + "x" +
       std::to_string(sizes.vocab) + "-s" + arg(argc, argv, "--head-scale", "1") + "-e" +
       arg(argc, argv, "--expert-scale", "1"));
  if (!fs::exists(model_dir / "config.json")) {
    fs::create_directories(model_dir);
    if (auto e = write_random_checkpoint(model_dir, Family::Olmoe, sizes, 5, hc::Dtype::BF16);
        !e.ok()) {
      std::fprintf(stderr, "bench_extract_baseline: %s\n", e.error().message.c_str());
      return 1;
    }
  }
  auto model = ForwardModel::open(model_dir, *device);
  if (!model.ok()) {
    std::fprintf(stderr, "bench_extract_baseline: %s\n", model.error().message.c_str());
    return 1;
  }
  std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens));
  for (long i = 0; i < tokens; ++i)
    ids[static_cast<std::size_t>(i)] = (i * 7919 + 17) % sizes.vocab;
  LayerObservation obs;  // the "forward hook"
  auto ran = model->logits(ids, [&](const LayerObservation& o) { obs = o; });
  if (!ran.ok()) {
    std::fprintf(stderr, "bench_extract_baseline: %s\n", ran.error().message.c_str());
    return 1;
  }
  std::vector<std::vector<int>> pairs;
  for (int i = 0; i < sizes.experts; ++i)
    for (int j = i + 1; j < sizes.experts; ++j) pairs.push_back({i, j});
  const at::ScalarType product = *dtype == ComputeDtype::Bf16 ? at::kBFloat16 : at::kFloat;
  std::printf(
      "layer: hidden %d, %d experts top-%d, vocab %d, %ld tokens, %zu pairs, %s, %s, %d "
      "threads\n",
      sizes.hidden, sizes.experts, sizes.top_k, sizes.vocab, tokens, pairs.size(),
      device_text(*device).c_str(), compute_dtype_name(*dtype), at::get_num_threads());

  // Entropy of the lens distributions the barriers are measured against.
  std::vector<double> entropy;
  {
    const at::Tensor norm =
        ops::load_tensor(model->checkpoint(), model->spec().final_norm, *device);
    const at::Tensor head = ops::load_tensor(model->checkpoint(), model->spec().lm_head, *device);
    const at::Tensor lp = at::log_softmax(
        at::linear(ops::rms_norm(obs.output.to(at::kFloat), norm, model->spec().rms_norm_eps),
                   head),
        -1);
    const at::Tensor h = -(lp.exp() * lp).sum(-1).to(at::kDouble).to(at::kCPU).contiguous();
    entropy.assign(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
  }
  std::printf("next-token entropy (nats): median %.2f, p10 %.2f, p90 %.2f (log V = %.2f)\n",
              quantile_of(entropy, 0.5), quantile_of(entropy, 0.1), quantile_of(entropy, 0.9),
              std::log(double(sizes.vocab)));

  auto run_ours = [&](const LensSupportOptions& lens, double& seconds,
                      std::pair<double, double>& support) {
    const auto t0 = Clock::now();
    BarrierOptions options{*dtype, nullptr};
    options.lens = lens;
    auto ours = LayerBarriers::create(*model, obs, BarrierKind::KlLens, nullptr, options);
    if (!ours.ok()) std::exit(1);
    auto values = ours->barriers(pairs);
    if (!values.ok()) std::exit(1);
    seconds = seconds_since(t0);
    support = ours->top_m_support();
    return std::vector<double>(values->begin(), values->end());
  };
  LensSupportOptions full;
  full.kind = LensSupport::Full;
  double top_s = 0.0, full_s = 0.0;
  std::pair<double, double> support, unused;
  const std::vector<double> fast = run_ours(top_m, top_s, support);
  bool profile = false;  // --profile: only the top-m run, for a profiler
  for (int i = 1; i < argc; ++i) profile = profile || std::strcmp(argv[i], "--profile") == 0;
  if (profile) {
    std::printf("ours, top-m (default):      %8.3f s\n", top_s);
    return 0;
  }
  const std::vector<double> exact = run_ours(full, full_s, unused);

  auto t0 = Clock::now();
  const std::vector<double> base = straightforward(*model, obs, pairs, product);
  const double base_s = seconds_since(t0);

  double worst = 0.0;
  std::vector<double> error;
  for (std::size_t g = 0; g < pairs.size(); ++g) {
    const double a = exact[g], b = base[g];
    worst = std::max(worst, std::fabs(a - b) / std::max({std::fabs(a), std::fabs(b), 1e-12}));
    error.push_back(std::fabs(fast[g] - exact[g]) / std::max(std::fabs(exact[g]), 1e-30));
  }
  std::printf("pair barriers (full): median %.3e, max %.3e nats per calibration token\n",
              quantile_of(exact, 0.5), quantile_of(exact, 1.0));
  std::printf("top-m support: %.1f entries per token on average (max %d), mean tail mass %.2e\n",
              support.first, top_m.max_support, support.second);
  std::printf("ours, top-m (default):      %8.3f s\n", top_s);
  std::printf("ours, full vocabulary:      %8.3f s\n", full_s);
  std::printf("straightforward (per pair): %8.3f s\n", base_s);
  std::printf("speed-up of top-m: %.2fx over straightforward, %.2fx over full\n", base_s / top_s,
              full_s / top_s);
  std::printf("speed-up of full over straightforward: %.2fx; largest relative disagreement %.2e\n",
              base_s / full_s, worst);
  std::printf("top-m against full: relative error median %.2e, p95 %.2e, max %.2e; Spearman %.5f\n",
              quantile_of(error, 0.5), quantile_of(error, 0.95), quantile_of(error, 1.0),
              spearman(fast, exact));
  return 0;
}
