// Distributed extraction over c10d/Gloo on CPU: 2 and 3 processes started here with the variables
// torchrun sets write the single-process statistics (every value within 1e-6 relative, the same
// plan); a rank killed mid-run is reported by the others and the run resumes; bad launch
// variables and too few sequences are refused on every rank.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/Parallel.h>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hc/native/extract.hpp"
#include "hc/stats_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::quote;

namespace {

// A TCP port free right now on the loopback interface (the kernel picks it).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string launch_env(int rank, int world, int port) {
  return "env RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) +
         " WORLD_SIZE=" + std::to_string(world) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
         " HC_DISTRIBUTED_TIMEOUT=120 ";
}

struct Rank {
  int code = -1;
  std::string out, err;
};

struct DistributedCli : CliFixture {
  DistributedCli() {
    FixtureSizes s;
    s.layers = 3;
    s.experts = 6;
    s.top_k = 2;
    s.vocab = 64;
    const auto error = write_random_checkpoint(work / "model", Family::Qwen3Moe, s, 31);
    BOOST_REQUIRE(error.ok());
    hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(400, 64, 17, 3));
  }

  // Starts `world` ranks of `hodgecover <args>` as torchrun would and waits for all of them;
  // rank r's output goes to work/../rank<r>.{out,err}.
  std::vector<Rank> launch(int world, const std::string& args) const {
    const int port = free_port();
    std::string script = "cd " + quote(work.string()) + " || exit 1; ";
    for (int r = 0; r < world; ++r) {
      const std::string base = quote((root / ("rank" + std::to_string(r))).string());
      script += "( " + launch_env(r, world, port) + quote(HC_CLI_PATH) + " " + args + " >" + base +
                ".out 2>" + base + ".err; echo $? >" + base + ".rc ) & ";
    }
    script += "wait";
    BOOST_REQUIRE_EQUAL(std::system(("timeout 600 sh -c " + quote(script)).c_str()), 0);
    std::vector<Rank> ranks(static_cast<std::size_t>(world));
    for (int r = 0; r < world; ++r) {
      const fs::path base = root / ("rank" + std::to_string(r));
      auto& rank = ranks[static_cast<std::size_t>(r)];
      rank.code = std::stoi(hc::test::slurp(fs::path(base.string() + ".rc")));
      rank.out = hc::test::slurp(fs::path(base.string() + ".out"));
      rank.err = hc::test::slurp(fs::path(base.string() + ".err"));
    }
    return ranks;
  }

  // The single-process reference.
  void single(const std::string& args) const {
    const auto r = shell(quote(HC_CLI_PATH) + " " + args);
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
};

// |a - b| <= 1e-6 max(|a|, |b|), with a floor of 1e-6 of the tensor's largest magnitude for
// entries that are rounding-level zeros.
void check_close(const std::vector<float>& a, const std::vector<float>& b, const std::string& what,
                 double relative = 1e-6) {
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  double scale = 0.0;
  for (float v : a) scale = std::max(scale, double(std::fabs(v)));
  std::size_t bad = 0;
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(double(a[i]) - double(b[i]));
    const double allowed =
        relative * std::max({double(std::fabs(a[i])), double(std::fabs(b[i])), 1e-6 * scale});
    worst = std::max(worst, diff / std::max(allowed / relative, 1e-300));
    if (diff > allowed) ++bad;
  }
  BOOST_CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << a.size()
                                     << " values differ by more than " << relative
                                     << " relative (worst " << worst << ")");
}

void check_same_statistics(const hc::StatsFile& one, const hc::StatsFile& many) {
  BOOST_CHECK_EQUAL(one.tokens, many.tokens);
  BOOST_REQUIRE_EQUAL(one.layers.size(), many.layers.size());
  for (std::size_t l = 0; l < one.layers.size(); ++l) {
    const auto& a = one.layers[l];
    const auto& b = many.layers[l];
    const std::string at = "layer " + std::to_string(a.layer) + " ";
    BOOST_CHECK_EQUAL(a.layer, b.layer);
    BOOST_CHECK(a.edges == b.edges);
    BOOST_CHECK_MESSAGE(a.triangles == b.triangles, at + "measured other triangles");
    check_close(a.frequency, b.frequency, at + "frequency");
    check_close(a.gate_mass, b.gate_mass, at + "gate_mass");
    check_close(a.reap, b.reap, at + "reap");
    check_close(a.ean, b.ean, at + "ean");
    // Sums of squared activations: each square carries the float rounding of the forward pass,
    // which depends on the rows per product and the threads, so they agree to 1e-5.
    check_close(a.input_sqnorm, b.input_sqnorm, at + "input_sqnorm", 1e-5);
    check_close(a.inner_sqnorm, b.inner_sqnorm, at + "inner_sqnorm", 1e-5);
    check_close(a.edge_barrier, b.edge_barrier, at + "edge_barrier");
    // Format 1.1: mean router scores, the router sample (each rank fills its own rows) and the
    // leave-one-out barriers reduce to the single-process values.
    BOOST_CHECK(!a.router_prob.empty() && a.router_sample_rows > 0 && !a.loo.empty());
    BOOST_CHECK_EQUAL(a.router_sample_rows, b.router_sample_rows);
    check_close(a.router_prob, b.router_prob, at + "router_prob");
    // The sampled logits are forward-pass values, not sums: a matrix product over another
    // number of rows rounds differently, so they agree to float precision of their scale.
    double largest = 0.0, worst = 0.0;
    for (std::size_t i = 0; i < a.router_sample.size() && i < b.router_sample.size(); ++i) {
      largest = std::max(largest, double(std::fabs(a.router_sample[i])));
      worst = std::max(worst, double(std::fabs(a.router_sample[i] - b.router_sample[i])));
    }
    BOOST_CHECK_EQUAL(a.router_sample.size(), b.router_sample.size());
    BOOST_CHECK_MESSAGE(worst <= 1e-5 * largest, at + "router_sample differs by "
                                                     << worst << " (largest " << largest << ")");
    check_close(a.loo, b.loo, at + "loo");
    // Format 1.3: the directed substitution barriers, summed over the ranks like the pairs.
    BOOST_CHECK(!a.substitution.empty());
    check_close(a.substitution, b.substitution, at + "substitution");
    check_close(a.triangle_barrier, b.triangle_barrier, at + "triangle_barrier");
  }
}

const std::string kExtract = "extract --model model --ids calib.ids --tokens 384 --seq-len 32";

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed)

BOOST_FIXTURE_TEST_CASE(two_and_three_ranks_write_the_single_process_statistics, DistributedCli) {
  single(kExtract + " --out one.hcstats");
  ok("select one.hcstats --ratio 0.5 --out one-plan.json");
  const auto plan_layers = [&](const std::string& name) {
    return nlohmann::json::parse(hc::test::slurp(work / name))["layers"];
  };
  for (int world : {2, 3}) {
    const std::string out = "w" + std::to_string(world) + ".hcstats";
    const auto ranks = launch(world, kExtract + " --out " + out + " --json");
    for (int r = 0; r < world; ++r) {
      const Rank& rank = ranks[static_cast<std::size_t>(r)];
      BOOST_REQUIRE_MESSAGE(rank.code == 0,
                            "rank " << r << " exited " << rank.code << ": " << rank.err);
      // One report per run: rank 0's.
      if (r > 0) BOOST_CHECK_MESSAGE(rank.out.empty(), "rank " << r << " printed " << rank.out);
    }
    const auto report = nlohmann::json::parse(ranks[0].out);
    BOOST_CHECK_EQUAL(report["processes"].get<int>(), world);
    const hc::StatsFile many = read_stats_file(out);
    BOOST_CHECK_EQUAL(many.metadata.at("processes"), std::to_string(world));
    check_same_statistics(read_stats_file("one.hcstats"), many);
    ok("select " + out + " --ratio 0.5 --out plan-" + std::to_string(world) + ".json");
    BOOST_CHECK_MESSAGE(
        plan_layers("one-plan.json") == plan_layers("plan-" + std::to_string(world) + ".json"),
        world << " ranks: the plan differs from the single-process plan");
    BOOST_CHECK(!fs::exists(work / (out + ".partial")));
  }
  // The output-change barrier reduces the same way.
  single(kExtract + " --barrier output_l2 --out l2-one.hcstats");
  const auto ranks = launch(2, kExtract + " --barrier output_l2 --out l2-two.hcstats");
  BOOST_REQUIRE_MESSAGE(ranks[0].code == 0 && ranks[1].code == 0, ranks[0].err << ranks[1].err);
  check_same_statistics(read_stats_file("l2-one.hcstats"), read_stats_file("l2-two.hcstats"));
  hc::test::check_no_temporaries(*this);
}

// Rank 1 dies (as after kill -9) once the first layer is kept; rank 0 must say so and stop with
// the kept layer resumable; the relaunched ranks finish it.
BOOST_FIXTURE_TEST_CASE(a_killed_rank_is_reported_and_the_run_resumes, DistributedCli) {
  single(kExtract + " --out one.hcstats");
  const int port = free_port();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(300);
    at::set_num_threads(1);  // no thread pool inherited across fork
    if (::chdir(work.c_str()) != 0) ::_exit(90);
    ::setenv("RANK", "1", 1);
    ::setenv("WORLD_SIZE", "2", 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    ::setenv("HC_DISTRIBUTED_TIMEOUT", "120", 1);
    auto collective = Collective::from_environment();
    if (!collective.ok()) ::_exit(92);
    ExtractOptions options;
    options.model = "model";
    options.source.ids_path = "calib.ids";
    options.tokens = 384;
    options.seq_len = 32;
    options.out = "s.hcstats";
    options.collective = *collective;
    options.on_layer_committed = [](std::size_t committed) {
      if (committed >= 1) std::_Exit(137);
    };
    const auto result = run_extract(options);
    ::_exit(result.ok() ? 0 : 91);
  }
  const auto rank0 =
      shell(launch_env(0, 2, port) + quote(HC_CLI_PATH) + " " + kExtract + " --out s.hcstats");
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 137);
  BOOST_CHECK_EQUAL(rank0.code, 7);
  BOOST_CHECK_MESSAGE(contains(rank0.err, "rank 0 of 2: lost contact with the other ranks"),
                      rank0.err);
  BOOST_CHECK(!fs::exists(work / "s.hcstats"));
  BOOST_CHECK(fs::exists(work / "s.hcstats.partial" / "layer-0.hcstats"));

  const auto ranks = launch(2, kExtract + " --out s.hcstats --resume --json");
  BOOST_REQUIRE_MESSAGE(ranks[0].code == 0 && ranks[1].code == 0, ranks[0].err << ranks[1].err);
  BOOST_CHECK(contains(ranks[0].out, "\"layers_resumed\":1"));
  check_same_statistics(read_stats_file("one.hcstats"), read_stats_file("s.hcstats"));
  BOOST_CHECK(!fs::exists(work / "s.hcstats.partial"));
}

BOOST_FIXTURE_TEST_CASE(bad_launches_are_refused_on_every_rank, DistributedCli) {
  // More ranks than calibration sequences: every rank says so (one sequence of 32 here).
  const auto ranks = launch(2,
                            "extract --model model --ids calib.ids --tokens 32 --seq-len 32 "
                            "--out a.hcstats");
  for (const Rank& rank : ranks) {
    BOOST_CHECK_EQUAL(rank.code, 2);
    BOOST_CHECK_MESSAGE(contains(rank.err, "1 calibration sequences cannot be shared by 2 ranks"),
                        rank.err);
  }
  BOOST_CHECK(contains(ranks[1].err, "rank 1 of 2: "));
  // Malformed launch variables, before any rendezvous.
  const auto out_of_range = shell("env RANK=5 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 " +
                                  quote(HC_CLI_PATH) + " " + kExtract + " --out b.hcstats");
  BOOST_CHECK_EQUAL(out_of_range.code, 2);
  BOOST_CHECK_MESSAGE(contains(out_of_range.err, "RANK=5: expected an integer in [0, 1]"),
                      out_of_range.err);
  const auto no_master = shell("env -u MASTER_ADDR RANK=0 WORLD_SIZE=2 MASTER_PORT=1 " +
                               quote(HC_CLI_PATH) + " " + kExtract + " --out b.hcstats");
  BOOST_CHECK_EQUAL(no_master.code, 2);
  BOOST_CHECK(contains(no_master.err, "MASTER_ADDR is not set"));
  BOOST_CHECK(!fs::exists(work / "b.hcstats"));
}

BOOST_AUTO_TEST_SUITE_END()
