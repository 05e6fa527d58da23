// Extraction: batched barriers against a naive per-pair, per-token reference for every barrier
// definition; barrier properties (copies merge for free, >= 0, kl_lens == kl_full on the last
// layer); expert statistics by hand; `hodgecover extract` end to end, resume after a kill with
// byte-identical output, and bad inputs.
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/Parallel.h>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "hc/native/barriers.hpp"
#include "hc/native/extract.hpp"
#include "hc/native/forward.hpp"
#include "hc/stats_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::RunResult;
using hc::test::TempDir;

namespace {

template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

FixtureSizes tiny() {
  FixtureSizes s;
  s.layers = 2;
  s.experts = 4;
  s.top_k = 2;
  s.vocab = 64;
  return s;
}

// Writes a Mixtral-style fixture; when `copy_expert` is set, expert 1 of layer 0 is an exact
// copy of expert 0.
void write_model(const fs::path& dir, std::uint64_t seed, bool copy_expert = false,
                 Family family = Family::Mixtral) {
  const auto config = fixture_config(family, tiny());
  const auto spec = model_spec_from_config(config);
  BOOST_REQUIRE(spec.ok());
  auto tensors = random_tensors(*spec, seed, hc::Dtype::F32);
  if (copy_expert) {
    std::map<std::string, std::vector<float>> by_name;
    for (const auto& t : tensors) by_name[t.name] = t.values;
    const auto& e = spec->layers[0].experts;
    for (auto& t : tensors) {
      if (t.name == e[1].gate) t.values = by_name[e[0].gate];
      if (t.name == e[1].up) t.values = by_name[e[0].up];
      if (t.name == e[1].down) t.values = by_name[e[0].down];
    }
  }
  const auto error = write_checkpoint(dir, config, tensors, {});
  BOOST_REQUIRE_MESSAGE(error.ok(), (error.ok() ? "" : error.error().message));
}

std::vector<std::int32_t> tokens(std::size_t n, int step = 7) {
  std::vector<std::int32_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int32_t>((i * step + 1) % 64);
  return ids;
}

std::vector<LayerObservation> observe_all(const ForwardModel& model,
                                          const std::vector<std::int32_t>& ids) {
  std::vector<LayerObservation> seen;
  auto out = model.logits(ids, [&](const LayerObservation& o) { seen.push_back(o); });
  BOOST_REQUIRE_MESSAGE(out.ok(), why(out));
  return seen;
}

// ---- naive reference: one pair at a time, one token at a time, in double ----------------

struct Naive {
  const ForwardModel& model;
  const LayerObservation& obs;
  at::Tensor w(const std::string& name) {
    auto v = model.checkpoint().read_f32(name);
    auto info = model.checkpoint().info(name);
    std::vector<int64_t> shape(info->shape.begin(), info->shape.end());
    return at::tensor(std::vector<double>(v->begin(), v->end()), at::kDouble).reshape(shape);
  }
  at::Tensor expert(const at::Tensor& x, const at::Tensor& g, const at::Tensor& u,
                    const at::Tensor& d) {
    return at::matmul(d, at::silu(at::matmul(g, x)) * at::matmul(u, x));
  }
  at::Tensor logp(const at::Tensor& h) {
    const auto& s = model.spec();
    const at::Tensor norm = w(s.final_norm);
    const at::Tensor head = w(s.lm_head.empty() ? s.embed_tokens : s.lm_head);
    const at::Tensor n = h / at::sqrt(h.pow(2).mean() + s.rms_norm_eps) * norm;
    return at::log_softmax(at::matmul(head, n), 0);
  }
  // Per-token change of the MoE output when `group` is merged: [T, H] double.
  at::Tensor deltas(const std::vector<int>& group) {
    const auto& spec = model.spec();
    const auto& names = spec.layers[static_cast<std::size_t>(obs.layer)].experts;
    const int64_t T = obs.x.size(0);
    const at::Tensor sel = obs.selected.to(at::kCPU);
    std::vector<double> freq(static_cast<std::size_t>(spec.num_experts), 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s < sel.size(1); ++s) freq[sel[t][s].item<int64_t>()] += 1.0 / double(T);
    double total = 0;
    for (int e : group) total += freq[static_cast<std::size_t>(e)];
    at::Tensor mg, mu, md;
    for (int e : group) {
      const double pi = total > 0 ? freq[static_cast<std::size_t>(e)] / total : 1.0 / group.size();
      const auto& n = names[static_cast<std::size_t>(e)];
      mg = mg.defined() ? mg + pi * w(n.gate) : pi * w(n.gate);
      mu = mu.defined() ? mu + pi * w(n.up) : pi * w(n.up);
      md = md.defined() ? md + pi * w(n.down) : pi * w(n.down);
    }
    at::Tensor out = at::zeros({T, spec.hidden_size}, at::kDouble);
    for (int64_t t = 0; t < T; ++t) {
      const at::Tensor x = obs.x[t].to(at::kDouble);
      for (int64_t s = 0; s < sel.size(1); ++s) {
        const int e = static_cast<int>(sel[t][s].item<int64_t>());
        if (std::find(group.begin(), group.end(), e) == group.end()) continue;
        const auto& n = names[static_cast<std::size_t>(e)];
        const double g = obs.gates[t][s].item<double>();
        out[t] += g * (expert(x, mg, mu, md) - expert(x, w(n.gate), w(n.up), w(n.down)));
      }
    }
    return out;
  }
  // Per-token change when expert `from`'s output is replaced by expert `to`'s (same gate).
  at::Tensor substitution_deltas(int from, int to) {
    const auto& spec = model.spec();
    const auto& names = spec.layers[static_cast<std::size_t>(obs.layer)].experts;
    const auto& a = names[static_cast<std::size_t>(from)];
    const auto& b = names[static_cast<std::size_t>(to)];
    const at::Tensor sel = obs.selected.to(at::kCPU);
    at::Tensor out = at::zeros({obs.x.size(0), spec.hidden_size}, at::kDouble);
    for (int64_t t = 0; t < out.size(0); ++t) {
      const at::Tensor x = obs.x[t].to(at::kDouble);
      for (int64_t s = 0; s < sel.size(1); ++s) {
        if (sel[t][s].item<int64_t>() != from) continue;
        out[t] += obs.gates[t][s].item<double>() * (expert(x, w(b.gate), w(b.up), w(b.down)) -
                                                    expert(x, w(a.gate), w(a.up), w(a.down)));
      }
    }
    return out;
  }
  // The barrier of a per-token output change `d` [T, H] under `kind`.
  double barrier(BarrierKind kind, const at::Tensor& d, const at::Tensor& base_logits) {
    return kind == BarrierKind::KlLens     ? kl_lens_of(d)
           : kind == BarrierKind::OutputL2 ? output_l2_of(d)
                                           : kl_full_of(d, base_logits);
  }
  double kl_lens_of(const at::Tensor& d) {
    double sum = 0;
    for (int64_t t = 0; t < d.size(0); ++t) {
      const at::Tensor h = obs.output[t].to(at::kDouble);
      const at::Tensor p = logp(h), q = logp(h + d[t]);
      sum += (p.exp() * (p - q)).sum().item<double>();
    }
    return sum / double(d.size(0));
  }
  double output_l2_of(const at::Tensor& d) {
    // y = routed MoE output: sum over selected experts of g * E(x).
    const auto& names = model.spec().layers[static_cast<std::size_t>(obs.layer)].experts;
    const at::Tensor sel = obs.selected.to(at::kCPU);
    double energy = 0;
    for (int64_t t = 0; t < d.size(0); ++t) {
      at::Tensor y = at::zeros({model.spec().hidden_size}, at::kDouble);
      const at::Tensor x = obs.x[t].to(at::kDouble);
      for (int64_t s = 0; s < sel.size(1); ++s) {
        const auto& n = names[static_cast<std::size_t>(sel[t][s].item<int64_t>())];
        y += obs.gates[t][s].item<double>() * expert(x, w(n.gate), w(n.up), w(n.down));
      }
      energy += y.pow(2).sum().item<double>();
    }
    return d.pow(2).sum().item<double>() / energy;
  }
  // kl_full on one sequence: perturb the layer output, run the later layers, compare.
  double kl_full_of(const at::Tensor& delta, const at::Tensor& base_logits) {
    const at::Tensor d = delta.to(at::kFloat);
    at::Tensor h = obs.output + d;
    for (int l = obs.layer + 1; l < static_cast<int>(model.spec().layers.size()); ++l) {
      h = *model.run_layer(l, h);
    }
    const at::Tensor q = at::log_softmax(model.head(h)->to(at::kDouble), -1);
    const at::Tensor p = at::log_softmax(base_logits.to(at::kDouble), -1);
    return (p.exp() * (p - q)).sum().item<double>() / double(d.size(0));
  }
};

const std::vector<std::vector<int>> kPairs = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};

// Options with the given kl_lens evaluation.
BarrierOptions with_lens(LensSupport kind, int max_support = 256, double tail_mass = 1e-3,
                         int tail_samples = 64) {
  BarrierOptions options;
  options.lens = LensSupportOptions{kind, tail_mass, max_support, tail_samples};
  return options;
}
const std::vector<std::vector<int>> kTriples = {{0, 1, 2}, {1, 2, 3}};

}  // namespace

BOOST_AUTO_TEST_SUITE(extract)

BOOST_AUTO_TEST_CASE(batched_barriers_match_naive_reference) {
  // Group merges (pairs and triples) and directed substitutions d(i -> j), every barrier kind.
  TempDir tmp("hc-test-extract");
  write_model(tmp.root / "m", 11);
  auto model = ForwardModel::open(tmp.root / "m");
  BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
  const auto ids = tokens(24);
  const auto seen = observe_all(*model, ids);
  const at::Tensor base_logits = *model->logits(ids);
  FullModelContext full{&*model, {24}, at::log_softmax(base_logits, -1)};
  std::vector<std::vector<int>> groups = kPairs;
  groups.insert(groups.end(), kTriples.begin(), kTriples.end());
  for (const auto& obs : seen) {
    Naive naive{*model, obs};
    for (BarrierKind kind : {BarrierKind::KlLens, BarrierKind::KlFull, BarrierKind::OutputL2}) {
      auto lb = LayerBarriers::create(*model, obs, kind, &full, with_lens(LensSupport::Full));
      BOOST_REQUIRE_MESSAGE(lb.ok(), why(lb));
      // fp32 batched vs fp64 naive: 1% relative or 1e-9 absolute (tiny barriers).
      auto check = [&](float got, double want, const std::string& what) {
        BOOST_CHECK_GE(got, 0.0f);
        BOOST_CHECK_MESSAGE(std::abs(got - want) <= 1e-2 * std::abs(want) + 1e-9,
                            barrier_name(kind) << " layer " << obs.layer << " " << what << ": "
                                               << got << " vs " << want);
      };
      auto got = lb->barriers(groups);
      BOOST_REQUIRE_MESSAGE(got.ok(), why(got));
      for (std::size_t g = 0; g < groups.size(); ++g)
        check((*got)[g], naive.barrier(kind, naive.deltas(groups[g]), base_logits),
              "group " + std::to_string(g));

      auto sub = lb->substitutions();
      BOOST_REQUIRE_MESSAGE(sub.ok(), why(sub));
      const int e = lb->experts();
      BOOST_REQUIRE_EQUAL(sub->size(), static_cast<std::size_t>(e * e));
      bool asymmetric = false;
      for (int i = 0; i < e; ++i) {
        for (int j = 0; j < e; ++j) {
          const float v = (*sub)[static_cast<std::size_t>(i * e + j)];
          if (i == j) {
            BOOST_CHECK_EQUAL(v, 0.0f);
            continue;
          }
          check(v, naive.barrier(kind, naive.substitution_deltas(i, j), base_logits),
                "d(" + std::to_string(i) + "->" + std::to_string(j) + ")");
          asymmetric = asymmetric || std::abs(v - (*sub)[static_cast<std::size_t>(j * e + i)]) >
                                         1e-3 * std::abs(v);
        }
      }
      BOOST_CHECK(asymmetric);  // a directed cost, not the symmetric pair barrier
    }
  }
}

BOOST_AUTO_TEST_CASE(barrier_properties) {
  TempDir tmp("hc-test-extract");
  write_model(tmp.root / "m", 12, /*copy_expert=*/true);
  auto model = ForwardModel::open(tmp.root / "m");
  BOOST_REQUIRE(model.ok());
  const auto ids = tokens(32, 5);
  const auto seen = observe_all(*model, ids);
  const at::Tensor base_logits = *model->logits(ids);
  FullModelContext full{&*model, {32}, at::log_softmax(base_logits, -1)};
  // Expert 1 is a copy of expert 0 in layer 0: merging them changes nothing.
  for (BarrierKind kind : {BarrierKind::KlLens, BarrierKind::KlFull, BarrierKind::OutputL2}) {
    auto lb = LayerBarriers::create(*model, seen[0], kind, &full);
    BOOST_REQUIRE(lb.ok());
    const auto b = *lb->barriers({{0, 1}, {0, 2}});
    BOOST_CHECK_SMALL(b[0], 1e-7f);
    BOOST_CHECK_GT(b[1], 1e-7f);  // a different expert does cost something
    // Substituting one copy for the other changes nothing either way; a different one costs.
    const auto d = *lb->substitutions();
    const int e = lb->experts();
    BOOST_CHECK_SMALL(d[static_cast<std::size_t>(0 * e + 1)], 1e-7f);
    BOOST_CHECK_SMALL(d[static_cast<std::size_t>(1 * e + 0)], 1e-7f);
    BOOST_CHECK_GT(d[static_cast<std::size_t>(0 * e + 2)], 1e-7f);
  }
  // On the last MoE layer kl_lens is exactly kl_full (nothing runs after it).
  auto lens = LayerBarriers::create(*model, seen[1], BarrierKind::KlLens, &full,
                                    with_lens(LensSupport::Full));
  auto exact = LayerBarriers::create(*model, seen[1], BarrierKind::KlFull, &full);
  BOOST_REQUIRE(lens.ok() && exact.ok());
  const auto a = *lens->barriers(kPairs), b = *exact->barriers(kPairs);
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_CHECK_GE(a[i], 0.0f);
    BOOST_CHECK_CLOSE(a[i], b[i], 0.5);  // percent: fp32 head products in other batch shapes
  }
  // Bad groups are refused.
  BOOST_CHECK(!lens->barriers({{0, 0}}).ok());
  BOOST_CHECK(!lens->barriers({{0, 9}}).ok());
  BOOST_CHECK(!lens->barriers({{1}}).ok());
}

BOOST_AUTO_TEST_CASE(top_m_support_against_full_vocabulary) {
  TempDir tmp("hc-test-extract");
  write_model(tmp.root / "m", 13);
  auto model = ForwardModel::open(tmp.root / "m");
  BOOST_REQUIRE(model.ok());
  const auto seen = observe_all(*model, tokens(48, 3));
  const int vocab = model->spec().vocab_size;
  for (const auto& obs : seen) {
    auto scored = [&](const BarrierOptions& options) {
      auto lb = LayerBarriers::create(*model, obs, BarrierKind::KlLens, nullptr, options);
      BOOST_REQUIRE_MESSAGE(lb.ok(), why(lb));
      auto values = lb->barriers(kPairs);
      BOOST_REQUIRE_MESSAGE(values.ok(), why(values));
      return std::make_pair(*values, lb->top_m_support());
    };
    const auto [full, none] = scored(with_lens(LensSupport::Full));
    BOOST_CHECK_EQUAL(none.first, 0.0);  // no support built
    // A support holding the whole vocabulary is the full evaluation.
    const auto [whole, whole_support] = scored(with_lens(LensSupport::TopM, vocab, 0.0, 0));
    BOOST_CHECK_CLOSE(whole_support.first, double(vocab), 1e-9);
    BOOST_CHECK_SMALL(whole_support.second, 1e-12);
    // First order only: the KL of the coarsened distributions, a lower bound of the full one.
    const auto [coarse, coarse_support] = scored(with_lens(LensSupport::TopM, 8, 1e-3, 0));
    BOOST_CHECK_CLOSE(coarse_support.first, 8.0, 1e-9);  // this fixture is flat: the cap holds
    BOOST_CHECK_GT(coarse_support.second, 0.1);
    // The tail sample adds the second order: closer to the full value than the bound.
    const auto [sampled, sampled_support] = scored(with_lens(LensSupport::TopM, 8, 1e-3, 32));
    double bound_error = 0.0, sampled_error = 0.0;
    std::size_t measured = 0;
    for (std::size_t g = 0; g < kPairs.size(); ++g) {
      BOOST_CHECK_GE(coarse[g], 0.0f);
      BOOST_CHECK_LE(coarse[g], full[g] * (1.0f + 1e-5f) + 1e-12f);
      if (full[g] < 1e-9f) continue;  // experts without tokens here: nothing to compare
      ++measured;
      BOOST_CHECK_CLOSE(whole[g], full[g], 1e-3);
      BOOST_CHECK_GT(coarse[g], 0.0f);
      bound_error += std::abs(coarse[g] - full[g]) / full[g];
      sampled_error += std::abs(sampled[g] - full[g]) / full[g];
    }
    BOOST_CHECK_GE(measured, 3u);
    BOOST_CHECK_LT(sampled_error, 0.5 * bound_error);
    BOOST_CHECK_LT(sampled_error / double(measured), 0.05);
  }
  // Impossible settings are refused.
  for (const BarrierOptions& bad :
       {with_lens(LensSupport::TopM, 0), with_lens(LensSupport::TopM, 8, 1.0),
        with_lens(LensSupport::TopM, 8, -0.1), with_lens(LensSupport::TopM, 8, 0.0, -1)}) {
    auto lb = LayerBarriers::create(*model, seen[0], BarrierKind::KlLens, nullptr, bad);
    BOOST_REQUIRE(!lb.ok());
    BOOST_CHECK(contains(lb.error().message, "top-m support"));
  }
}

BOOST_AUTO_TEST_CASE(expert_statistics_by_hand) {
  TempDir tmp("hc-test-extract");
  write_model(tmp.root / "m", 13, false, Family::Olmoe);
  auto model = ForwardModel::open(tmp.root / "m");
  BOOST_REQUIRE(model.ok());
  const auto seen = observe_all(*model, tokens(20, 3));
  const auto& obs = seen[0];
  auto lb = LayerBarriers::create(*model, obs, BarrierKind::KlLens);
  BOOST_REQUIRE_MESSAGE(lb.ok(), why(lb));
  hc::LayerStats stats;
  BOOST_REQUIRE(lb->fill_expert_stats(stats).ok());
  Naive naive{*model, obs};
  const auto& names = model->spec().layers[0].experts;
  const int64_t T = 20;
  std::vector<double> freq(4), mass(4), reap(4), ean(4), routed(4);
  std::vector<at::Tensor> in_sq;
  for (int e = 0; e < 4; ++e) in_sq.push_back(at::zeros({32}, at::kDouble));
  for (int64_t t = 0; t < T; ++t) {
    const at::Tensor x = obs.x[t].to(at::kDouble);
    for (int64_t s = 0; s < obs.selected.size(1); ++s) {
      const auto e = static_cast<std::size_t>(obs.selected[t][s].item<int64_t>());
      const double g = obs.gates[t][s].item<double>();
      const double norm =
          naive.expert(x, naive.w(names[e].gate), naive.w(names[e].up), naive.w(names[e].down))
              .norm()
              .item<double>();
      freq[e] += 1.0 / T;
      mass[e] += g / T;
      reap[e] += g * norm;
      ean[e] += norm / T;
      routed[e] += 1;
      in_sq[e] += x.pow(2);
    }
  }
  BOOST_REQUIRE_EQUAL(stats.experts, 4);
  for (std::size_t e = 0; e < 4; ++e) {
    BOOST_CHECK_CLOSE(stats.frequency[e], freq[e], 1e-4);
    BOOST_CHECK_CLOSE(stats.gate_mass[e], mass[e], 1e-3);
    BOOST_CHECK_CLOSE(stats.reap[e], routed[e] > 0 ? reap[e] / routed[e] : 0.0, 1e-3);
    BOOST_CHECK_CLOSE(stats.ean[e], ean[e], 1e-3);
    BOOST_CHECK_CLOSE(stats.input_sqnorm[e * 32 + 5], in_sq[e][5].item<double>(), 1e-3);
  }
  double total = 0;
  for (double f : freq) total += f;
  BOOST_CHECK_CLOSE(total, 2.0, 1e-9);  // top-2: frequencies sum to k
}

// Runs extraction of work/model on work/calib.ids in a child process that dies (_Exit(137), as
// after kill -9) once `layers` layers are committed; returns the child's exit status. The kill
// is injected through ExtractOptions::on_layer_committed; nothing in the tool reads a test hook.
int extract_killed_after_layers(const fs::path& work, const std::string& out, std::size_t tokens,
                                std::size_t layers, const char* source_date_epoch) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(120);            // never hang the suite
    at::set_num_threads(1);  // no thread pool inherited across fork
    if (::chdir(work.c_str()) != 0) ::_exit(90);
    if (source_date_epoch != nullptr) ::setenv("SOURCE_DATE_EPOCH", source_date_epoch, 1);
    ExtractOptions options;
    options.model = "model";
    options.source.ids_path = "calib.ids";
    options.tokens = tokens;
    options.seq_len = 32;
    options.out = out;
    options.on_layer_committed = [layers](std::size_t committed) {
      if (committed >= layers) std::_Exit(137);
    };
    const auto result = run_extract(options);
    ::_exit(result.ok() ? 0 : 91);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---- the CLI ----------------------------------------------------------------------------

struct ExtractCli : CliFixture {
  ExtractCli() {
    FixtureSizes s = tiny();
    s.layers = 3;
    const auto error = write_random_checkpoint(work / "model", Family::Qwen3Moe, s, 21);
    BOOST_REQUIRE(error.ok());
    hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(200, 64, 13, 5));
  }
};

BOOST_FIXTURE_TEST_CASE(cli_writes_a_statistics_file_that_decomposes, ExtractCli) {
  ok("extract --model model --ids calib.ids --tokens 128 --seq-len 32 --out s.hcstats");
  const hc::StatsFile stats = read_stats_file("s.hcstats");
  BOOST_CHECK_EQUAL(stats.layers.size(), 3u);
  BOOST_CHECK_EQUAL(stats.family, "qwen3_moe");
  BOOST_CHECK_EQUAL(stats.tokens, 128u);
  BOOST_CHECK_EQUAL(stats.barrier, "kl_lens");
  BOOST_CHECK_EQUAL(stats.num_experts, 4);
  BOOST_CHECK(contains(stats.metadata.at("calibration"), "4 sequences of 32 tokens"));
  for (const auto& layer : stats.layers) {
    BOOST_CHECK_EQUAL(layer.edges.size(), 6u);
    BOOST_CHECK_EQUAL(layer.input_sqnorm_cols, 32u);
    BOOST_CHECK_LE(layer.triangles.size(), 4u);
  }
  // Format 1.1: mean router probabilities (a softmax: they sum to 1), the router sample (every
  // token here, fewer than --router-sample) and leave-one-out barriers (>= 0, not all zero).
  // Format 1.2: the lens evaluation; auto picks full for this 64-entry vocabulary. Format 1.3:
  // the directed substitution barriers, E x E with a zero diagonal.
  BOOST_CHECK_EQUAL(stats.metadata.at("format_version"), "1.3");
  BOOST_CHECK_EQUAL(stats.metadata.at("lens_support"), "full");
  BOOST_CHECK_EQUAL(stats.metadata.count("lens_tail_mass"), 0u);
  for (const auto& layer : stats.layers) {
    double total = 0.0, loo = 0.0;
    for (float p : layer.router_prob) total += p;
    for (float v : layer.loo) loo += v;
    BOOST_CHECK_CLOSE(total, 1.0, 1e-3);
    BOOST_CHECK_EQUAL(layer.router_sample_rows, 128u);
    BOOST_CHECK_EQUAL(layer.loo.size(), 4u);
    BOOST_CHECK_GT(loo, 0.0);
    BOOST_REQUIRE_EQUAL(layer.substitution.size(), 16u);
    for (int i = 0; i < 4; ++i) BOOST_CHECK_EQUAL(layer.substitution_barrier(i, i), 0.0f);
    BOOST_CHECK_GT(layer.substitution_barrier(0, 1) + layer.substitution_barrier(1, 0), 0.0f);
  }
  ok("select s.hcstats --method loo --ratio 0.5 --out loo.json");
  ok("extract --model model --ids calib.ids --tokens 128 --seq-len 32 --router-sample 16 "
     "--max-triangles 0 --lens-support top-m --lens-max-support 8 --lens-tail-samples 4 --out "
     "few.hcstats");
  const hc::StatsFile few = read_stats_file("few.hcstats");
  BOOST_CHECK_EQUAL(few.layers.front().router_sample_rows, 16u);
  BOOST_CHECK_EQUAL(few.metadata.at("lens_support"), "top-m");
  BOOST_CHECK_EQUAL(few.metadata.at("lens_tail_mass"), "0.001");
  BOOST_CHECK_EQUAL(few.metadata.at("lens_max_support"), "8");
  BOOST_CHECK_EQUAL(few.metadata.at("lens_tail_samples"), "4");
  for (const char* bad : {"--lens-support some", "--lens-tail-mass 1", "--lens-max-support 0",
                          "--lens-tail-samples -1"}) {
    const RunResult r =
        run(std::string("extract --model model --ids calib.ids --tokens 64 --seq-len 32 ") + bad +
            " --out bad.hcstats");
    BOOST_CHECK_EQUAL(r.code, 2);
    BOOST_CHECK_MESSAGE(contains(r.err, "--lens-"), r.err);
    BOOST_CHECK(!fs::exists(work / "bad.hcstats"));
  }
  ok("decompose s.hcstats --json");
  ok("select s.hcstats --ratio 0.5 --compare");
  BOOST_CHECK(!fs::exists(work / "s.hcstats.partial"));
  hc::test::check_no_temporaries(*this);
  // --max-triangles caps stage 1.
  ok("extract --model model --ids calib.ids --tokens 64 --seq-len 32 --max-triangles 1 --out "
     "t.hcstats");
  for (const auto& layer : read_stats_file("t.hcstats").layers)
    BOOST_CHECK_LE(layer.triangles.size(), 1u);
}

BOOST_FIXTURE_TEST_CASE(each_layer_is_read_once, CliFixture) {
  // A sharded bf16 checkpoint: the barriers use the experts the forward pass decoded and an LM
  // head read once, so a run reads the checkpoint's tensor bytes once (at most 1.1x).
  FixtureSizes s = tiny();
  s.layers = 3;
  BOOST_REQUIRE(write_random_checkpoint(work / "model", Family::Qwen3Moe, s, 22, hc::Dtype::BF16,
                                        /*shard_bytes=*/16384)
                    .ok());
  BOOST_REQUIRE(fs::exists(work / "model" / "model.safetensors.index.json"));
  hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(200, 64, 13, 5));
  const RunResult r =
      ok("extract --model model --ids calib.ids --tokens 128 --seq-len 32 --json --out s.hcstats");
  const auto summary = nlohmann::json::parse(r.out);
  const double total = summary.at("checkpoint_bytes").get<double>();
  const double read = summary.at("checkpoint_bytes_read").get<double>();
  BOOST_CHECK_GT(total, 0.0);
  BOOST_CHECK_GE(read, total);  // every tensor is needed
  BOOST_CHECK_LE(read, 1.1 * total);
}

BOOST_FIXTURE_TEST_CASE(cli_resume_after_kill_is_byte_identical, ExtractCli) {
  const std::string base = "extract --model model --ids calib.ids --tokens 96 --seq-len 32";
  const std::string args = base + " --out s.hcstats";
  const std::string env = "env SOURCE_DATE_EPOCH=1700000000 ";
  // Uninterrupted run.
  BOOST_REQUIRE_EQUAL(std::system(("cd " + hc::test::quote(work.string()) + " && " + env +
                                   hc::test::quote(HC_CLI_PATH) + " " + args +
                                   " >/dev/null 2>&1 && mv s.hcstats whole.hcstats")
                                      .c_str()),
                      0);
  // Killed after one committed layer, then resumed.
  const int killed = extract_killed_after_layers(work, "s.hcstats", 96, 1, "1700000000");
  BOOST_CHECK_EQUAL(killed, 137);
  BOOST_CHECK(!fs::exists(work / "s.hcstats"));
  BOOST_CHECK(fs::exists(work / "s.hcstats.partial" / "layer-0.hcstats"));
  const RunResult resumed =
      ok("extract --model model --ids calib.ids --tokens 96 --seq-len 32 "
         "--out s.hcstats --resume --json");
  BOOST_CHECK(contains(resumed.out, "\"layers_resumed\":1"));
  BOOST_CHECK(!fs::exists(work / "s.hcstats.partial"));
  // SOURCE_DATE_EPOCH was not set for the resumed process, but `created` comes from the run
  // that started it, so the bytes must match.
  BOOST_CHECK(hc::test::slurp(work / "s.hcstats") == hc::test::slurp(work / "whole.hcstats"));
  // Resuming with different settings is refused.
  BOOST_CHECK_EQUAL(extract_killed_after_layers(work, "u.hcstats", 96, 1, nullptr), 137);
  const RunResult other =
      run("extract --model model --ids calib.ids --tokens 64 --seq-len 32 "
          "--out u.hcstats --resume");
  BOOST_CHECK_EQUAL(other.code, 2);
  BOOST_CHECK(contains(other.err, "other settings"));
}

BOOST_FIXTURE_TEST_CASE(cli_bad_inputs_leave_nothing_behind, ExtractCli) {
  fs::create_directory(work / "dense");
  hc::test::spit(work / "dense" / "config.json",
                 R"({"model_type":"llama","num_hidden_layers":2,"hidden_size":32,)"
                 R"("num_attention_heads":4,"vocab_size":64,"intermediate_size":64})");
  hc::test::spit(work / "dense" / "model.safetensors", hc::test::container_with({}));
  struct Case {
    std::string args;
    int code;
    std::string says;
  };
  const Case cases[] = {
      {"extract --model model --ids calib.ids --seq-len 512 --out a.hcstats", 3,
       "fewer than one calibration sequence"},
      {"extract --model model --ids calib.ids --tokens 0 --out a.hcstats", 2, "--tokens"},
      {"extract --model dense --ids calib.ids --out a.hcstats", 3, "llama"},
      {"extract --model missing --ids calib.ids --out a.hcstats", 3, "missing"},
      {"extract --model model --ids calib.ids --seq-len 32 --out nodir/a.hcstats", 4, "nodir"},
      {"extract --model model --ids calib.ids --seq-len 32 --barrier bogus --out a.hcstats", 2,
       "--barrier bogus"},
      {"extract --model model --text missing.txt --seq-len 32 --out a.hcstats", 3,
       "tokenizer.json"},
  };
  for (const auto& c : cases) {
    const RunResult r = run(c.args);
    BOOST_CHECK_MESSAGE(r.code == c.code, c.args << ": exit " << r.code << ": " << r.err);
    BOOST_CHECK_MESSAGE(contains(r.err, c.says), c.args << ": " << r.err);
  }
  BOOST_CHECK(!fs::exists(work / "a.hcstats"));
  BOOST_CHECK(!fs::exists(work / "a.hcstats.partial"));
}

// Every family extracts: DeepSeek's dense first layer is skipped, gpt-oss's fused experts
// with biases and clamped SwiGLU run through the same barrier code; barriers finite, >= 0.
BOOST_FIXTURE_TEST_CASE(cli_extracts_every_family, CliFixture) {
  hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(64, 64, 13, 5));
  for (Family family : {Family::Mixtral, Family::Qwen2Moe, Family::Qwen3Moe, Family::Olmoe,
                        Family::DeepseekV2, Family::DeepseekV3, Family::GptOss}) {
    const std::string name = family_model_type(family);
    FixtureSizes s = tiny();
    s.layers = 3;
    s.n_group = 2;  // 4 experts: two groups of two, one kept
    s.topk_group = 1;
    const auto error = write_random_checkpoint(work / name, family, s, 31);
    BOOST_REQUIRE_MESSAGE(error.ok(), name << ": " << (error.ok() ? "" : error.error().message));
    const RunResult r = run("extract --model " + name +
                            " --ids calib.ids --tokens 64 --seq-len 32 --out " + name + ".hcstats");
    BOOST_REQUIRE_MESSAGE(r.code == 0, name << ": " << r.err);
    const std::string bytes = hc::test::slurp(work / (name + ".hcstats"));
    auto stats =
        hc::read_stats({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, name);
    BOOST_REQUIRE_MESSAGE(stats.ok(), why(stats));
    BOOST_CHECK_EQUAL(stats->family, name);
    const bool dense_first = family == Family::DeepseekV2 || family == Family::DeepseekV3;
    BOOST_CHECK_EQUAL(stats->layers.size(), dense_first ? 2u : 3u);
    BOOST_CHECK_EQUAL(stats->layers.front().layer, dense_first ? 1 : 0);
    double total = 0;
    for (const auto& layer : stats->layers) {
      for (float b : layer.edge_barrier) {
        BOOST_CHECK(std::isfinite(b) && b >= 0.0f);
        total += b;
      }
    }
    BOOST_CHECK_MESSAGE(total > 0.0, name << ": all barriers zero");
  }
}

BOOST_AUTO_TEST_SUITE_END()
