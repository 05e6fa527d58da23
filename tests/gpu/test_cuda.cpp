// CUDA parity: the forward pass, eval and extract (the whole statistics file for every barrier
// kind, and the plan from it) on the GPU agree with the CPU. The suite is
// skipped (main.cpp exits 77), with the reason, when LibTorch has no CUDA device (Debian's LibTorch
// is CPU-only; build against pip torch on a GPU machine to run them, see README).
#include <ATen/Context.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "hc/native/evaluate.hpp"
#include "hc/native/extract.hpp"
#include "hc/native/forward.hpp"
#include "hc/stats_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;

namespace {

std::vector<std::int32_t> ids(int n, int step) {
  return hc::test::token_ids(n, 64, step);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda)

BOOST_AUTO_TEST_CASE(forward_matches_cpu_for_every_family) {
  for (Family family : {Family::Mixtral, Family::Qwen2Moe, Family::Qwen3Moe, Family::Olmoe,
                        Family::DeepseekV2, Family::DeepseekV3, Family::GptOss}) {
    BOOST_TEST_CONTEXT(family_model_type(family)) {
      hc::test::TempDir tmp("hc-test-cuda");
      FixtureSizes sizes;
      sizes.top_k = 3;
      BOOST_REQUIRE(write_random_checkpoint(tmp.root / "m", family, sizes, 17).ok());
      auto cpu = ForwardModel::open(tmp.root / "m", at::Device(at::kCPU));
      auto gpu = ForwardModel::open(tmp.root / "m", at::Device(at::kCUDA, 0));
      BOOST_REQUIRE(cpu.ok() && gpu.ok());
      const auto tokens = ids(40, 7);
      const at::Tensor a = *cpu->logits(tokens);
      const at::Tensor b = gpu->logits(tokens)->to(at::kCPU);
      // Positions agree to round-off, except where a near-tie in the router flips an expert
      // choice between devices (the random fixtures' routers are nearly flat): at most 2 of 40.
      const double tol = 1e-3 * std::max(1.0, a.abs().max().item<double>());
      const at::Tensor row_diff = std::get<0>((a - b).abs().max(1));
      const auto off = (row_diff > tol).sum().item<int64_t>();
      BOOST_TEST_MESSAGE(family_model_type(family)
                         << ": positions off " << off << " of 40, max |diff| "
                         << row_diff.max().item<double>());
      BOOST_CHECK_LE(off, 2);
      BOOST_CHECK_LE(row_diff.median().item<double>(), tol);
    }
  }
}

BOOST_AUTO_TEST_CASE(eval_and_extract_match_cpu) {
  hc::test::TempDir tmp("hc-test-cuda");
  FixtureSizes sizes;
  sizes.layers = 3;
  BOOST_REQUIRE(write_random_checkpoint(tmp.root / "m", Family::Qwen3Moe, sizes, 3).ok());
  BOOST_REQUIRE(write_random_checkpoint(tmp.root / "other", Family::Qwen3Moe, sizes, 4).ok());
  const std::vector<std::vector<std::int32_t>> sequences = {ids(64, 7), ids(64, 11), ids(33, 13)};
  std::vector<std::vector<ModelEvaluation>> by_device;
  for (at::Device device : {at::Device(at::kCPU), at::Device(at::kCUDA, 0)}) {
    auto r = evaluate_models({tmp.root / "m", tmp.root / "other"}, sequences, device);
    BOOST_REQUIRE(r.ok());
    by_device.push_back(*r);
  }
  for (std::size_t m = 0; m < 2; ++m) {
    BOOST_CHECK_CLOSE(by_device[0][m].perplexity, by_device[1][m].perplexity, 1e-3);
    BOOST_CHECK_SMALL(by_device[0][m].kl - by_device[1][m].kl, 1e-5);
  }

  // Extraction: the same statistics and barriers on both devices.
  hc::test::write_token_ids(tmp.root / "calib.ids", hc::test::token_ids(256, 64, 19, 2));
  std::vector<hc::StatsFile> stats;
  for (at::Device device : {at::Device(at::kCPU), at::Device(at::kCUDA, 0)}) {
    ExtractOptions options;
    options.model = tmp.root / "m";
    options.source.ids_path = (tmp.root / "calib.ids").string();
    options.out = tmp.root / (device.is_cuda() ? "gpu.hcstats" : "cpu.hcstats");
    options.tokens = 256;
    options.seq_len = 64;
    options.device = device;
    auto r = run_extract(options);
    BOOST_REQUIRE(r.ok());
    stats.push_back(r->stats);
  }
  BOOST_REQUIRE_EQUAL(stats[0].layers.size(), stats[1].layers.size());
  for (std::size_t l = 0; l < stats[0].layers.size(); ++l) {
    const auto& a = stats[0].layers[l];
    const auto& b = stats[1].layers[l];
    BOOST_REQUIRE_EQUAL(a.edge_barrier.size(), b.edge_barrier.size());
    // A routing near-tie may flip on the GPU: at most one token's choice per expert.
    for (std::size_t e = 0; e < a.frequency.size(); ++e)
      BOOST_CHECK_SMALL(a.frequency[e] - b.frequency[e], 1.0f / 256.0f + 1e-6f);
    for (std::size_t i = 0; i < a.edge_barrier.size(); ++i) {
      BOOST_CHECK_SMALL(a.edge_barrier[i] - b.edge_barrier[i],
                        std::max(1e-2f * a.edge_barrier[i], 1e-6f));
    }
  }
}

// The whole statistics file, CPU against CUDA, for every barrier kind: every tensor within the
// tolerance stated beside it, the same graph, and the same HodgeCover plan from both files.
BOOST_AUTO_TEST_CASE(statistics_files_match_cpu_for_every_barrier_kind) {
  hc::test::CliFixture f;
  FixtureSizes sizes;
  sizes.layers = 3;
  sizes.experts = 8;
  BOOST_REQUIRE(write_random_checkpoint(f.work / "m", Family::Qwen3Moe, sizes, 5).ok());
  hc::test::write_token_ids(f.work / "calib.ids", hc::test::token_ids(512, 64, 19, 2));
  const double tokens = 512.0;
  // Relative closeness with an absolute floor (values near zero).
  auto check_close = [](const std::vector<float>& a, const std::vector<float>& b, double rel,
                        double floor, const std::string& what) {
    BOOST_REQUIRE_MESSAGE(a.size() == b.size(), what << ": sizes differ");
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double diff = std::abs(double(a[i]) - double(b[i]));
      const double allowed = std::max(rel * std::abs(double(a[i])), floor);
      worst = std::max(worst, diff / allowed);
      BOOST_CHECK_MESSAGE(diff <= allowed,
                          what << "[" << i << "]: cpu " << a[i] << ", cuda " << b[i]);
    }
    return worst;
  };
  for (const char* barrier : {"kl_lens", "kl_full", "output_l2"}) {
    BOOST_TEST_CONTEXT(barrier) {
      for (const char* device : {"cpu", "cuda"}) {
        f.ok(std::string("extract --model m --ids calib.ids --seq-len 64 --tokens 512 ") +
             "--barrier " + barrier + " --device " + device + " --compute-dtype fp32 --out " +
             device + ".hcstats");
        f.ok(std::string("select ") + device + ".hcstats --ratio 0.5 --out " + device +
             ".plan.json");
      }
      const hc::StatsFile cpu = f.read_stats_file("cpu.hcstats");
      const hc::StatsFile cuda = f.read_stats_file("cuda.hcstats");
      BOOST_REQUIRE_EQUAL(cpu.layers.size(), cuda.layers.size());
      double worst = 0.0;
      for (std::size_t l = 0; l < cpu.layers.size(); ++l) {
        const auto& a = cpu.layers[l];
        const auto& b = cuda.layers[l];
        const std::string at = "layer " + std::to_string(a.layer) + " ";
        // Routing may flip on a near-tie: one token per expert at most.
        worst = std::max(worst, check_close(a.frequency, b.frequency, 0.0, 1.0 / tokens + 1e-6,
                                            at + "frequency"));
        worst = std::max(
            worst, check_close(a.gate_mass, b.gate_mass, 1e-3, 1.0 / tokens, at + "gate_mass"));
        worst = std::max(worst, check_close(a.reap, b.reap, 1e-2, 1e-5, at + "reap"));
        worst = std::max(worst, check_close(a.ean, b.ean, 1e-2, 1e-5, at + "ean"));
        worst = std::max(
            worst, check_close(a.input_sqnorm, b.input_sqnorm, 1e-3, 1e-6, at + "input_sqnorm"));
        worst = std::max(
            worst, check_close(a.inner_sqnorm, b.inner_sqnorm, 1e-2, 1e-6, at + "inner_sqnorm"));
        BOOST_CHECK(a.edges == b.edges);
        worst = std::max(
            worst, check_close(a.edge_barrier, b.edge_barrier, 1e-2, 1e-6, at + "edge_barrier"));
        // Triangles are the stage-1 candidates (a quantile of the pair barriers): the same set
        // unless a pair barrier sits on the quantile; their barriers match where both have one.
        if (a.triangles == b.triangles) {
          worst = std::max(worst, check_close(a.triangle_barrier, b.triangle_barrier, 1e-2, 1e-6,
                                              at + "triangle_barrier"));
        } else {
          BOOST_TEST_MESSAGE(at << "candidate triangles differ (a pair barrier on the quantile)");
        }
      }
      BOOST_TEST_MESSAGE(barrier << ": worst difference " << worst << " of its tolerance");
      const auto plan = [&](const std::string& name) {  // layer -> kept experts
        nlohmann::json keep = nlohmann::json::object();
        for (const auto& [layer, lp] :
             nlohmann::json::parse(hc::test::slurp(f.work / name)).at("layers").items())
          keep[layer] = lp.at("keep");
        return keep;
      };
      BOOST_CHECK_MESSAGE(plan("cpu.plan.json") == plan("cuda.plan.json"),
                          "plans differ: " << plan("cpu.plan.json").dump() << " vs "
                                           << plan("cuda.plan.json").dump());
      for (const char* name : {"cpu.hcstats", "cuda.hcstats", "cpu.plan.json", "cuda.plan.json"})
        fs::remove(f.work / name);
    }
  }
}

// The GPU default (--compute-dtype auto = bf16) against fp32 on the same device: pair barriers
// close (median relative error under 5%) and the same HodgeCover plan; tf32 as well.
BOOST_AUTO_TEST_CASE(bf16_and_tf32_barriers_stay_close_to_fp32_on_cuda) {
  hc::test::CliFixture f;
  FixtureSizes sizes;
  sizes.layers = 3;
  sizes.experts = 8;
  BOOST_REQUIRE(write_random_checkpoint(f.work / "m", Family::Qwen3Moe, sizes, 7).ok());
  hc::test::write_token_ids(f.work / "calib.ids", hc::test::token_ids(512, 64, 23, 4));
  const std::string base =
      "extract --model m --ids calib.ids --seq-len 64 --tokens 512 --device cuda";
  f.ok(base + " --compute-dtype fp32 --out fp32.hcstats");
  const hc::StatsFile fp32 = f.read_stats_file("fp32.hcstats");
  f.ok("select fp32.hcstats --ratio 0.5 --out fp32.plan.json");
  for (const char* dtype : {"bf16", "tf32"}) {
    const std::string name = std::string(dtype) + ".hcstats";
    f.ok(base + " --compute-dtype " + dtype + " --out " + name);
    const hc::StatsFile other = f.read_stats_file(name);
    BOOST_CHECK_EQUAL(other.metadata.at("compute_dtype"), dtype);
    std::vector<double> errors;
    for (std::size_t l = 0; l < fp32.layers.size(); ++l) {
      for (std::size_t i = 0; i < fp32.layers[l].edge_barrier.size(); ++i) {
        const double a = fp32.layers[l].edge_barrier[i], b = other.layers[l].edge_barrier[i];
        errors.push_back(std::abs(a - b) / std::max(a, 1e-12));
      }
    }
    std::sort(errors.begin(), errors.end());
    BOOST_TEST_MESSAGE(dtype << " vs fp32 on CUDA: median relative error "
                             << errors[errors.size() / 2] << ", max " << errors.back());
    BOOST_CHECK_LT(errors[errors.size() / 2], 0.05);
    f.ok("select " + name + " --ratio 0.5 --out " + dtype + ".plan.json");
    const auto layers = [&](const std::string& plan) {
      return nlohmann::json::parse(hc::test::slurp(f.work / plan)).at("layers");
    };
    BOOST_CHECK_MESSAGE(layers("fp32.plan.json") == layers(std::string(dtype) + ".plan.json"),
                        dtype << ": the plan differs from fp32's");
  }
}

BOOST_AUTO_TEST_SUITE_END()
