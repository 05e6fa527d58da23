// apply: a keep-everything plan reproduces the logits exactly; pruned checkpoints hold exactly
// the kept experts renumbered, sliced routers, the new expert count and a consistent index;
// merging exact copies leaves the survivor's weights unchanged; Wanda's zero counts and
// choice; bad plans exit 3 and leave nothing behind.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "hc/native/apply.hpp"
#include "hc/native/checkpoint.hpp"
#include "hc/native/forward.hpp"
#include "hc/native/model_spec.hpp"
#include "hc/plan.hpp"
#include "hc/stats_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::RunResult;
using nlohmann::json;

namespace {

template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

std::string plan_text(const std::map<int, std::vector<int>>& keep,
                      const std::map<int, std::map<int, int>>& merge = {}) {
  json layers = json::object();
  for (const auto& [layer, ids] : keep) {
    json merge_into = json::object();
    if (merge.count(layer)) {
      for (const auto& [d, s] : merge.at(layer)) merge_into[std::to_string(d)] = s;
    }
    layers[std::to_string(layer)] = {{"keep", ids}, {"merge_into", merge_into}};
  }
  return json{{"format", "hodgecover.plan"},
              {"version", 1},
              {"method", "test"},
              {"params", json::object()},
              {"layers", layers}}
      .dump();
}

std::vector<float> values(const Checkpoint& ck, const std::string& name) {
  auto v = ck.read_f32(name);
  BOOST_REQUIRE_MESSAGE(v.ok(), why(v));
  return *v;
}

struct ApplyCli : CliFixture {
  ApplyCli() {
    FixtureSizes s;
    s.layers = 2;
    s.experts = 4;
    s.vocab = 64;
    const auto config = fixture_config(Family::Mixtral, s);
    auto spec = model_spec_from_config(config);
    BOOST_REQUIRE(spec.ok());
    auto tensors = random_tensors(*spec, 5, hc::Dtype::BF16);
    // Expert 3 of layer 0 is an exact copy of expert 2 (for the merge test).
    std::map<std::string, std::vector<float>> by_name;
    for (const auto& t : tensors) by_name[t.name] = t.values;
    const auto& e = spec->layers[0].experts;
    for (auto& t : tensors) {
      if (t.name == e[3].gate) t.values = by_name[e[2].gate];
      if (t.name == e[3].up) t.values = by_name[e[2].up];
      if (t.name == e[3].down) t.values = by_name[e[2].down];
    }
    CheckpointWriteOptions options;
    options.shard_bytes = 20000;  // several shards and an index
    options.tokenizer_json = "{\"version\":\"1.0\"}";
    const auto error = write_checkpoint(work / "model", config, tensors, options);
    BOOST_REQUIRE_MESSAGE(error.ok(), (error.ok() ? "" : error.error().message));
  }
  void write_ids() {
    hc::test::write_token_ids(work / "ids.bin", hc::test::token_ids(64, 64, 11, 3));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(apply)

BOOST_FIXTURE_TEST_CASE(keep_everything_reproduces_logits_exactly, ApplyCli) {
  hc::test::spit(work / "all.json", plan_text({{0, {0, 1, 2, 3}}, {1, {0, 1, 2, 3}}}));
  ok("apply --model model --plan all.json --out same");
  auto a = ForwardModel::open(work / "model");
  auto b = ForwardModel::open(work / "same");
  BOOST_REQUIRE_MESSAGE(a.ok() && b.ok(), why(b));
  const std::vector<std::int32_t> ids = {1, 5, 9, 17, 33, 2, 60, 7};
  BOOST_CHECK(at::equal(*a->logits(ids), *b->logits(ids)));
  BOOST_CHECK(fs::exists(work / "same" / "tokenizer.json"));
  BOOST_CHECK(!fs::exists(work / "model" / "hodgecover_keep.json"));  // input untouched
}

BOOST_FIXTURE_TEST_CASE(pruned_checkpoint_holds_the_kept_experts, ApplyCli) {
  hc::test::spit(work / "p.json", plan_text({{0, {1, 3}}, {1, {0, 2}}}));
  const json summary = json::parse(ok("apply --model model --plan p.json --out pruned --json").out);
  BOOST_CHECK_EQUAL(summary["experts_after"], 2);
  BOOST_CHECK_LT(summary["parameters_after"].get<double>(),
                 summary["parameters_before"].get<double>());
  auto orig = open_checkpoint(work / "model");
  auto pruned = open_checkpoint(work / "pruned");
  BOOST_REQUIRE_MESSAGE(pruned.ok(), why(pruned));
  BOOST_CHECK_EQUAL(pruned->config()["num_local_experts"], 2);
  BOOST_CHECK_EQUAL(pruned->config()["num_experts_per_tok"], orig->config()["num_experts_per_tok"]);
  auto spec = model_spec_for(*pruned);
  BOOST_REQUIRE(spec.ok());
  BOOST_CHECK(validate_checkpoint(*spec, *pruned).ok());
  // Exactly the expected tensors, nothing extra (the index lists what the shards hold).
  BOOST_CHECK_EQUAL(pruned->tensor_names().size(), expected_tensors(*spec).size());
  const auto ospec = *model_spec_for(*orig);
  const std::map<int, std::vector<int>> keep = {{0, {1, 3}}, {1, {0, 2}}};
  for (const auto& [layer, ids] : keep) {
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto& from = ospec.layers[layer].experts[ids[k]];
      const auto& to = spec->layers[layer].experts[k];
      BOOST_CHECK(values(*orig, from.gate) == values(*pruned, to.gate));
      BOOST_CHECK(values(*orig, from.down) == values(*pruned, to.down));
    }
    const auto router = values(*orig, ospec.layers[layer].router);
    const auto sliced = values(*pruned, spec->layers[layer].router);
    const std::size_t h = router.size() / 4;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      BOOST_CHECK(std::equal(sliced.begin() + k * h, sliced.begin() + (k + 1) * h,
                             router.begin() + ids[k] * h));
    }
  }
  BOOST_CHECK(pruned->info(spec->layers[0].router)->dtype == hc::Dtype::BF16);
  const json keep_json = json::parse(hc::test::slurp(work / "pruned" / "hodgecover_keep.json"));
  BOOST_CHECK_EQUAL(keep_json["0"], json({1, 3}));
  BOOST_CHECK(fs::exists(work / "pruned" / "hodgecover_plan.json"));
  // The pruned model runs and only ever routes among its two experts.
  auto model = ForwardModel::open(work / "pruned");
  BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
  BOOST_CHECK(model->logits({1, 2, 3, 4}).ok());
}

BOOST_FIXTURE_TEST_CASE(output_scale_multiplies_only_the_survivors_down_projections, ApplyCli) {
  const std::map<int, std::vector<int>> keep = {{0, {1, 3}}, {1, {0, 2}}};
  auto plan = hc::parse_plan(plan_text(keep), "plan");
  BOOST_REQUIRE(plan.ok());
  ApplyOptions options;
  options.model = work / "model";
  options.out = work / "scaled";
  options.output_scale = 0.5;
  auto summary = apply_plan(options, *plan, nullptr);
  BOOST_REQUIRE_MESSAGE(summary.ok(), why(summary));
  auto orig = open_checkpoint(work / "model");
  auto scaled = open_checkpoint(work / "scaled");
  BOOST_REQUIRE(scaled.ok());
  const auto ospec = *model_spec_for(*orig);
  const auto spec = *model_spec_for(*scaled);
  for (const auto& [layer, ids] : keep) {
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto& from = ospec.layers[layer].experts[ids[k]];
      const auto& to = spec.layers[layer].experts[k];
      BOOST_CHECK(values(*orig, from.gate) == values(*scaled, to.gate));
      const auto a = values(*orig, from.down), b = values(*scaled, to.down);
      BOOST_REQUIRE_EQUAL(a.size(), b.size());
      std::size_t off = 0;  // halving is exact in BF16
      for (std::size_t i = 0; i < a.size(); ++i) off += b[i] != 0.5f * a[i];
      BOOST_CHECK_EQUAL(off, 0u);
    }
  }
  options.out = work / "bad";
  options.output_scale = 0.0;
  BOOST_CHECK(!apply_plan(options, *plan, nullptr).ok());
  BOOST_CHECK(!fs::exists(work / "bad"));
}

BOOST_FIXTURE_TEST_CASE(merge_and_wanda, ApplyCli) {
  write_ids();
  ok("extract --model model --ids ids.bin --seq-len 16 --tokens 64 --out m.hcstats");
  hc::test::spit(work / "m.json", plan_text({{0, {0, 1, 2}}, {1, {0, 1, 2}}}, {{0, {{3, 2}}}}));
  ok("apply --model model --plan m.json --mode merge --stats m.hcstats --out merged");
  auto orig = open_checkpoint(work / "model");
  auto merged = open_checkpoint(work / "merged");
  BOOST_REQUIRE(merged.ok());
  const auto ospec = *model_spec_for(*orig);
  const auto mspec = *model_spec_for(*merged);
  // Expert 3 was a copy of expert 2: the frequency-weighted merge is expert 2 again.
  const auto a = values(*orig, ospec.layers[0].experts[2].up);
  const auto b = values(*merged, mspec.layers[0].experts[2].up);
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_CHECK_SMALL(a[i] - b[i], 1e-6f);
  // Merge mode needs the statistics.
  BOOST_CHECK_EQUAL(run("apply --model model --plan m.json --mode merge --out x").code, 2);

  // Wanda 50%: floor(0.5 * in) zeros in every row, and they are the lowest scores.
  ok("apply --model model --plan m.json --wanda 0.5 --stats m.hcstats --out wanda");
  auto w = open_checkpoint(work / "wanda");
  BOOST_REQUIRE(w.ok());
  const auto wspec = *model_spec_for(*w);
  const std::string bytes = hc::test::slurp(work / "m.hcstats");
  const auto stats =
      *hc::read_stats({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "m");
  for (int k = 0; k < 3; ++k) {
    const auto pruned = values(*w, wspec.layers[1].experts[k].gate);
    const auto original = values(*orig, ospec.layers[1].experts[k].gate);
    const std::size_t cols = 32, rows = pruned.size() / cols;
    const float* norm = stats.layers[1].input_sqnorm.data() + k * cols;
    for (std::size_t r = 0; r < rows; ++r) {
      std::size_t zeros = 0;
      double max_zeroed = 0, min_kept = INFINITY;
      for (std::size_t j = 0; j < cols; ++j) {
        const double score = std::abs(original[r * cols + j]) * std::sqrt(norm[j]);
        if (pruned[r * cols + j] == 0.0f) {
          ++zeros;
          max_zeroed = std::max(max_zeroed, score);
        } else {
          min_kept = std::min(min_kept, score);
        }
      }
      BOOST_CHECK_EQUAL(zeros, cols / 2);
      BOOST_CHECK_LE(max_zeroed, min_kept);
    }
  }
}

// Wanda on fused layouts: every output of every surviving expert's slice keeps exactly
// in - floor(in/2) entries, and the zeroed ones are the lowest |w|*sqrt(norm). Fused stores
// [out, in] slices; gpt-oss's interleaved layout stores [in, out] (x @ W).
BOOST_FIXTURE_TEST_CASE(wanda_on_fused_layouts, CliFixture) {
  struct Case {
    const char* name;
    Family family;
    ExpertLayout layout;
  };
  for (const Case& c :
       {Case{"mixtral, fused", Family::Mixtral, ExpertLayout::Fused},
        Case{"gpt_oss, fused interleaved", Family::GptOss, ExpertLayout::FusedInterleaved}}) {
    BOOST_TEST_CONTEXT(c.name) {
      const fs::path dir = work / (std::string("m-") + family_model_type(c.family));
      FixtureSizes sizes;
      const auto config = fixture_config(c.family, sizes);
      auto spec = model_spec_from_config(config, c.layout);
      BOOST_REQUIRE_MESSAGE(spec.ok(), why(spec));
      BOOST_REQUIRE(spec->layout == c.layout);
      BOOST_REQUIRE(
          write_checkpoint(dir, config, random_tensors(*spec, 9, hc::Dtype::F32), {}).ok());
      hc::test::write_token_ids(work / "ids.bin", hc::test::token_ids(96, 64, 5, 1));
      const std::string name = dir.filename().string();
      ok("extract --model " + name + " --ids ids.bin --seq-len 32 --out " + name + ".hcstats");
      const std::vector<int> keep = {0, 2, 3, 5, 6, 7};
      hc::test::spit(work / "p.json", plan_text({{0, keep}, {1, keep}}));
      ok("apply --model " + name + " --plan p.json --wanda 0.5 --stats " + name +
         ".hcstats --out " + name + "-w");
      auto orig = open_checkpoint(dir);
      auto pruned = open_checkpoint(work / (name + "-w"));
      BOOST_REQUIRE(orig.ok() && pruned.ok());
      const std::string bytes = hc::test::slurp(work / (name + ".hcstats"));
      const auto stats =
          *hc::read_stats({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "s");
      const hc::LayerStats& ls = stats.layers[1];
      const LayerSpec& layer = spec->layers[1];
      for (const std::string* tensor : {&layer.fused_gate_up, &layer.fused_down}) {
        const bool down = tensor == &layer.fused_down;
        const auto shape = orig->info(*tensor)->shape;  // [E, a, b]
        const std::size_t a = shape[1], b = shape[2], slice = a * b;
        const bool out_first = c.layout == ExpertLayout::Fused;
        const std::size_t outs = out_first ? a : b, ins = out_first ? b : a;
        const auto before = values(*orig, *tensor);
        const auto after = values(*pruned, *tensor);
        BOOST_REQUIRE_EQUAL(after.size(), keep.size() * slice);
        for (std::size_t k = 0; k < keep.size(); ++k) {
          const float* norm =
              (down ? ls.inner_sqnorm.data() : ls.input_sqnorm.data()) + std::size_t(keep[k]) * ins;
          for (std::size_t o = 0; o < outs; ++o) {
            std::size_t zeros = 0;
            double max_zeroed = 0, min_kept = INFINITY;
            for (std::size_t i = 0; i < ins; ++i) {
              const std::size_t at = out_first ? o * ins + i : i * outs + o;
              const double score =
                  std::abs(before[std::size_t(keep[k]) * slice + at]) * std::sqrt(norm[i]);
              if (after[k * slice + at] == 0.0f) {
                ++zeros;
                max_zeroed = std::max(max_zeroed, score);
              } else {
                min_kept = std::min(min_kept, score);
              }
            }
            BOOST_CHECK_EQUAL(zeros, ins / 2);
            BOOST_CHECK_LE(max_zeroed, min_kept);
          }
        }
      }
      auto model = ForwardModel::open(work / (name + "-w"));
      BOOST_REQUIRE_MESSAGE(model.ok(), why(model));
      BOOST_CHECK(model->logits({1, 2, 3, 4}).ok());
    }
  }
}

BOOST_FIXTURE_TEST_CASE(bad_plans_exit_3_and_leave_nothing, ApplyCli) {
  const std::pair<std::string, std::string> cases[] = {
      {plan_text({{0, {0, 1}}, {1, {0, 1}}, {5, {0, 1}}}), "not an MoE layer"},
      {plan_text({{0, {0, 9}}, {1, {0, 1}}}), "outside"},
      {plan_text({{0, {1, 1}}, {1, {0, 1}}}), "strictly ascending"},
      {plan_text({{0, {}}, {1, {0, 1}}}), "is empty"},
      {plan_text({{0, {0, 1}}}), "missing"},
      {plan_text({{0, {0, 1, 2}}, {1, {0, 1}}}), "same number"},
      {plan_text({{0, {0}}, {1, {0}}}), "top-k"},
      {plan_text({{0, {0, 1}}, {1, {0, 1}}}, {{0, {{1, 0}}}}), "merge_into"},
      {"{not json", "bad.json"},
  };
  for (const auto& [text, says] : cases) {
    hc::test::spit(work / "bad.json", text);
    const RunResult r = run("apply --model model --plan bad.json --out out");
    BOOST_CHECK_MESSAGE(r.code == 3, says << ": exit " << r.code << ": " << r.err);
    BOOST_CHECK_MESSAGE(contains(r.err, says), says << ": " << r.err);
    BOOST_CHECK(!fs::exists(work / "out"));
  }
  // DeepSeek-style grouped routing: the kept count must divide by n_group.
  FixtureSizes s;
  s.layers = 2;
  s.experts = 8;
  s.vocab = 64;
  s.n_group = 4;
  s.topk_group = 2;
  BOOST_REQUIRE(write_random_checkpoint(work / "ds", Family::DeepseekV3, s, 3).ok());
  hc::test::spit(work / "g.json", plan_text({{1, {0, 1, 2, 3, 4, 5}}}));
  const RunResult g = run("apply --model ds --plan g.json --out out");
  BOOST_CHECK_EQUAL(g.code, 3);
  BOOST_CHECK_MESSAGE(contains(g.err, "n_group"), g.err);
  // 4 of 8 in 4 groups leaves one expert per group: noaux_tc ranks groups by their top-2
  // scores, so the written checkpoint would not load (here or in transformers).
  hc::test::spit(work / "g4.json", plan_text({{1, {0, 2, 4, 6}}}));
  const RunResult g4 = run("apply --model ds --plan g4.json --out ds4");
  BOOST_CHECK_EQUAL(g4.code, 3);
  BOOST_CHECK_MESSAGE(contains(g4.err, "at least 2 experts per group"), g4.err);
  BOOST_CHECK(!fs::exists(work / "ds4"));
  // Two groups of two (top-1 group) cannot supply top-3.
  s.n_group = 2;
  s.topk_group = 1;
  s.top_k = 3;
  BOOST_REQUIRE(write_random_checkpoint(work / "ds2", Family::DeepseekV3, s, 3).ok());
  hc::test::spit(work / "g2.json", plan_text({{1, {0, 1, 4, 5}}}));
  const RunResult g2 = run("apply --model ds2 --plan g2.json --out ds2x");
  BOOST_CHECK_EQUAL(g2.code, 3);
  BOOST_CHECK_MESSAGE(contains(g2.err, "fewer than top-k 3"), g2.err);
  // Top-2 over two groups of two: valid, and the result loads and runs.
  s.top_k = 2;
  BOOST_REQUIRE(write_random_checkpoint(work / "ds3", Family::DeepseekV3, s, 3).ok());
  ok("apply --model ds3 --plan g2.json --out ds4");
  BOOST_CHECK_EQUAL(open_checkpoint(work / "ds4")->config()["n_routed_experts"], 4);
  auto reduced = ForwardModel::open(work / "ds4");
  BOOST_REQUIRE_MESSAGE(reduced.ok(), why(reduced));
  BOOST_CHECK(reduced->logits({1, 5, 9, 17}).ok());
  for (const auto& entry : fs::directory_iterator(work)) {
    BOOST_CHECK_MESSAGE(!contains(entry.path().filename().string(), ".staging."),
                        "staging directory left behind: " << entry.path());
  }
}

BOOST_AUTO_TEST_SUITE_END()
