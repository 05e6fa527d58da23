// `extract --estimate` from config.json alone (scaling laws of the cost model, bad input) and
// `extract --compute-dtype` (bf16 barriers close to fp32, invalid choices refused).
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hc/stats_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;

namespace {

struct EstimateCli : CliFixture {
  EstimateCli() {
    FixtureSizes s;
    s.layers = 3;
    s.experts = 8;
    s.top_k = 2;
    s.vocab = 64;
    const auto error = write_random_checkpoint(work / "model", Family::Qwen3Moe, s, 41);
    BOOST_REQUIRE(error.ok());
    hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(400, 64, 19, 7));
    // The same model as config.json alone: the estimate needs nothing else.
    fs::create_directory(work / "config-only");
    fs::copy_file(work / "model" / "config.json", work / "config-only" / "config.json");
  }
  nlohmann::json estimate(const std::string& extra) const {
    const auto r = ok("extract --estimate --model config-only --json " + extra);
    return nlohmann::json::parse(r.out);
  }
};

double stage(const nlohmann::json& e, const std::string& name, const std::string& what) {
  return e["stages"][name][what].get<double>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(estimate)

BOOST_FIXTURE_TEST_CASE(estimate_scales_with_tokens_processes_and_device, EstimateCli) {
  const auto base = estimate("--tokens 1024 --seq-len 32 --device h100 --compute-dtype fp32");
  BOOST_CHECK_EQUAL(base["moe_layers"].get<int>(), 3);
  BOOST_CHECK_EQUAL(base["tokens"].get<int>(), 1024);
  BOOST_CHECK_EQUAL(base["pair_groups_per_layer"].get<double>(), 28.0);  // C(8, 2)
  for (const char* s : {"forward", "statistics", "pairs", "triangles"}) {
    BOOST_CHECK_GT(stage(base, s, "flops"), 0.0);
  }
  // Pair work is linear in the tokens (but for blending each group's weights once: < 0.1%).
  const auto twice = estimate("--tokens 2048 --seq-len 32 --device h100 --compute-dtype fp32");
  BOOST_CHECK_CLOSE(stage(twice, "pairs", "flops"), 2 * stage(base, "pairs", "flops"), 0.1);
  BOOST_CHECK_LT(stage(twice, "pairs", "flops"), 2 * stage(base, "pairs", "flops"));
  // Processes divide the compute time, not the FLOPs; each reads the whole model.
  const auto four =
      estimate("--tokens 1024 --seq-len 32 --device h100 --compute-dtype fp32 --processes 4");
  BOOST_CHECK_CLOSE(stage(four, "pairs", "seconds"), stage(base, "pairs", "seconds") / 4, 1e-6);
  BOOST_CHECK_EQUAL(stage(four, "pairs", "flops"), stage(base, "pairs", "flops"));
  BOOST_CHECK_EQUAL(four["disk_bytes_per_process"], base["disk_bytes_per_process"]);
  // bf16 products are faster on the same device; the GPU default is what auto gives.
  const auto bf16 = estimate("--tokens 1024 --seq-len 32 --device h100 --compute-dtype bf16");
  BOOST_CHECK_LT(stage(bf16, "pairs", "seconds"), stage(base, "pairs", "seconds"));
  BOOST_CHECK_EQUAL(estimate("--tokens 1024 --seq-len 32 --device h100")["compute_dtype"], "bf16");
  // A CPU estimate measures this machine.
  const auto cpu = estimate("--tokens 1024 --seq-len 32 --device cpu");
  BOOST_CHECK_EQUAL(cpu["compute_dtype"], "fp32");
  BOOST_CHECK_GT(cpu["device_flops_per_s"].get<double>(), 1e8);
  // The text form names every stage.
  const auto text = ok("extract --estimate --model config-only --device a100");
  for (const char* s : {"forward", "statistics", "pairs", "triangles", "peak device memory"}) {
    BOOST_CHECK_MESSAGE(contains(text.out, s), text.out);
  }
}

BOOST_FIXTURE_TEST_CASE(estimate_refuses_bad_input, EstimateCli) {
  const auto device = run("extract --estimate --model config-only --device tpu");
  BOOST_CHECK_EQUAL(device.code, 2);
  BOOST_CHECK(contains(device.err, "tpu: expected cpu, a100, h100, h200 or b200"));
  const auto missing = run("extract --estimate --model nowhere");
  BOOST_CHECK_EQUAL(missing.code, 3);
  BOOST_CHECK(contains(missing.err, "nowhere/config.json: cannot read"));
  hc::test::spit(work / "config-only" / "config.json", "{\"model_type\": \"llama\"}");
  const auto family = run("extract --estimate --model config-only");
  BOOST_CHECK_EQUAL(family.code, 3);
  BOOST_CHECK(contains(family.err, "config-only/config.json"));
  BOOST_CHECK(contains(family.err, "llama"));
  // Without --estimate an output is still required.
  const auto no_out = run("extract --model model --ids calib.ids");
  BOOST_CHECK_EQUAL(no_out.code, 2);
  BOOST_CHECK(contains(no_out.err, "--out"));
}

BOOST_FIXTURE_TEST_CASE(bf16_barriers_stay_close_to_fp32, EstimateCli) {
  const std::string run_args = "extract --model model --ids calib.ids --tokens 384 --seq-len 32";
  ok(run_args + " --out fp32.hcstats");
  ok(run_args + " --compute-dtype bf16 --out bf16.hcstats");
  const auto fp32 = read_stats_file("fp32.hcstats"), bf16 = read_stats_file("bf16.hcstats");
  BOOST_CHECK_EQUAL(fp32.metadata.at("compute_dtype"), "fp32");
  BOOST_CHECK_EQUAL(bf16.metadata.at("compute_dtype"), "bf16");
  BOOST_REQUIRE_EQUAL(fp32.layers.size(), bf16.layers.size());
  std::vector<double> errors;
  for (std::size_t l = 0; l < fp32.layers.size(); ++l) {
    const auto& a = fp32.layers[l].edge_barrier;
    const auto& b = bf16.layers[l].edge_barrier;
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      errors.push_back(std::fabs(double(a[i]) - double(b[i])) / std::max(1e-12, double(a[i])));
    }
    // Statistics are not products: identical in both modes.
    BOOST_CHECK(fp32.layers[l].frequency == bf16.layers[l].frequency);
  }
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  BOOST_TEST_MESSAGE("bf16 vs fp32 pair barriers: median relative error " << median << ", max "
                                                                          << errors.back());
  BOOST_CHECK_LT(median, 0.05);
  BOOST_CHECK_LT(errors.back(), 0.5);
}

BOOST_FIXTURE_TEST_CASE(compute_dtype_choices_are_checked, EstimateCli) {
  const auto tf32 =
      run("extract --model model --ids calib.ids --device cpu --compute-dtype tf32 "
          "--out a.hcstats");
  BOOST_CHECK_EQUAL(tf32.code, 2);
  BOOST_CHECK(contains(tf32.err, "CUDA devices only"));
  const auto bogus =
      run("extract --model model --ids calib.ids --compute-dtype fp8 --out a.hcstats");
  BOOST_CHECK_EQUAL(bogus.code, 2);
  BOOST_CHECK(contains(bogus.err, "fp8: expected auto, fp32, tf32 or bf16"));
  BOOST_CHECK(!fs::exists(work / "a.hcstats"));
}

BOOST_AUTO_TEST_SUITE_END()
