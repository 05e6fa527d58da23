// Faults: a write that fails at any step of select --out, extract, apply (the checkpoint
// writer), compare and demo exits 4 naming the path and why, leaves no output, no temporary
// and no staging folder, and never touches the inputs (an LD_PRELOAD library fails every write
// step in turn; a kernel file-size limit and, where the test may mount one, a tiny tmpfs fill
// up for real). SIGKILL at random moments leaves apply's and compare's output complete or
// absent, and a rerun succeeds; extract --resume after a kill anywhere gives the same bytes.
// NaN or Inf in the model's numbers ends with exit 6 and writes nothing (the statistics
// writer's own refusal of non-finite values is tested in core.stats_file).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "hc/native/checkpoint.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::CliFixture;
using hc::test::contains;
using hc::test::quote;
using hc::test::RunResult;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// Every regular file under `dir` (relative path -> bytes), and every directory (-> "<dir>").
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = fs::relative(entry.path(), dir).string();
    files[name] = entry.is_directory() ? std::string("<dir>") : hc::test::slurp(entry.path());
  }
  return files;
}

// Names that differ between two snapshots (added, removed or changed).
std::string differences(const std::map<std::string, std::string>& before,
                        const std::map<std::string, std::string>& after) {
  std::ostringstream out;
  for (const auto& [name, bytes] : after) {
    auto it = before.find(name);
    if (it == before.end())
      out << " +" << name;
    else if (it->second != bytes)
      out << " ~" << name;
  }
  for (const auto& [name, bytes] : before) {
    if (!after.count(name)) out << " -" << name;
  }
  return out.str();
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(hc::test::slurp(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Up to `most` step numbers out of 1..steps, evenly spread, always the first and the last.
std::vector<long> sample_steps(long steps, long most) {
  std::vector<long> out;
  if (steps <= most) {
    for (long s = 1; s <= steps; ++s) out.push_back(s);
    return out;
  }
  for (long i = 0; i < most; ++i) out.push_back(1 + i * (steps - 1) / (most - 1));
  return out;
}

// Starts `args` in `work` and SIGKILLs it after `delay`; true when it was still running.
bool run_and_kill(const fs::path& work, const std::string& args, std::chrono::microseconds delay,
                  const std::string& env = "") {
  const std::string line = "cd " + quote(work.string()) + " && exec " + env + " " +
                           quote(HC_CLI_PATH) + " " + args + " >/dev/null 2>&1";
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  const auto deadline = Clock::now() + delay;
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // finished first
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// A 2-layer, 8-expert Mixtral-style checkpoint in three shards, its calibration and held-out
// ids, its statistics file and a HodgeCover plan.
struct FaultCli : CliFixture {
  std::string prefix;

  FaultCli() {
    FixtureSizes s;
    s.layers = 2;
    s.experts = 8;
    s.vocab = 64;
    BOOST_REQUIRE(
        write_random_checkpoint(work / "model", Family::Mixtral, s, 7, hc::Dtype::F32, 40000).ok());
    hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(192, 64, 11, 3));
    hc::test::write_token_ids(work / "held.ids", hc::test::token_ids(96, 64, 7, 1));
    ok("extract --model model --ids calib.ids --seq-len 32 --out s.hcstats");
    ok("select s.hcstats --ratio 0.5 --out plan.json");
    prefix = fs::canonical(work).string() + "/";
  }

  // The environment that loads the fault library: step `at` and later fail with `error`.
  std::string faults(long at, int error, const fs::path& log) const {
    return "env LD_PRELOAD=" + quote(HC_FAULT_LIB) + " HC_FAULT_PREFIX=" + quote(prefix) +
           " HC_FAULT_AT=" + std::to_string(at) + " HC_FAULT_ERRNO=" + std::to_string(error) +
           " HC_FAULT_LOG=" + quote(log.string()) + " ";
  }

  // Runs `args` once cleanly to list its write steps, then with each sampled step (and every
  // later one) failing with `error`: every run must exit 4 with a message naming `output` and
  // the reason, and leave work/ exactly as it was. Returns the number of steps.
  long check_every_step(const std::string& args, const std::string& output, int error,
                        long most_runs) {
    const auto before = snapshot(work);
    const fs::path log = root / "steps.log";
    fs::remove(log);
    const RunResult clean = shell(faults(0, error, log) + quote(HC_CLI_PATH) + " " + args);
    BOOST_REQUIRE_MESSAGE(clean.code == 0, args << ": " << clean.err);
    const std::vector<std::string> steps = lines_of(log);
    BOOST_REQUIRE_MESSAGE(!steps.empty(), args << " took no write step under " << prefix);
    std::error_code ec;
    fs::remove_all(work / output, ec);
    BOOST_REQUIRE_MESSAGE(snapshot(work) == before, args << " left more than its output:"
                                                         << differences(before, snapshot(work)));
    const std::string reason = std::strerror(error);
    for (long at : sample_steps(static_cast<long>(steps.size()), most_runs)) {
      fs::remove(log);
      const RunResult r = shell(faults(at, error, log) + quote(HC_CLI_PATH) + " " + args);
      const std::string step = steps[static_cast<std::size_t>(at - 1)];
      BOOST_CHECK_MESSAGE(
          r.code == 4, args << " | failing step " << step << ": exit " << r.code << ": " << r.err);
      BOOST_CHECK_MESSAGE(contains(r.err, output) && contains(r.err, reason),
                          args << " | failing step " << step << ": message lacks '" << output
                               << "' or '" << reason << "': " << r.err);
      const auto after = snapshot(work);
      BOOST_CHECK_MESSAGE(after == before,
                          args << " | failing step " << step
                               << " left work/ changed:" << differences(before, after));
      fs::remove_all(work / output, ec);
    }
    return static_cast<long>(steps.size());
  }

  // Seconds one clean run of `args` takes (output removed afterwards).
  double seconds_of(const std::string& args, const std::string& output) const {
    const auto t0 = Clock::now();
    ok(args);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::error_code ec;
    fs::remove_all(work / output, ec);
    return seconds;
  }

  // Removes what a killed writer leaves in work/ (its temporaries and staging folders, which
  // a later run never mistakes for output); returns how many there were.
  static int remove_leftovers(const fs::path& work) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(work)) {
      const std::string name = entry.path().filename().string();
      if (contains(name, ".tmp") || contains(name, ".staging.")) found.push_back(entry.path());
    }
    for (const auto& path : found) fs::remove_all(path);
    return static_cast<int>(found.size());
  }
};

// The checkpoint directory is complete: it opens and every tensor decodes.
bool complete_checkpoint(const fs::path& dir, std::string& why) {
  auto ck = open_checkpoint(dir);
  if (!ck.ok()) {
    why = ck.error().message;
    return false;
  }
  for (const auto& name : ck->tensor_names()) {
    auto values = ck->read_f32(name);
    if (!values.ok()) {
      why = values.error().message;
      return false;
    }
  }
  if (!fs::exists(dir / "hodgecover_plan.json")) {
    why = "no hodgecover_plan.json";
    return false;
  }
  return true;
}

bool complete_report(const fs::path& dir, std::string& why) {
  const json report = json::parse(hc::test::slurp(dir / "report.json"), nullptr, false);
  if (report.is_discarded() || !report.contains("rows")) {
    why = "report.json missing or unparsable";
    return false;
  }
  if (hc::test::slurp(dir / "report.md").empty()) {
    why = "report.md missing or empty";
    return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

// ---- a write that fails at any step -------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(select_out_fails_cleanly_at_every_step, FaultCli) {
  const long steps =
      check_every_step("select s.hcstats --ratio 0.25 --out p2.json", "p2.json", ENOSPC, 50);
  BOOST_TEST_MESSAGE("select --out: " << steps << " write steps");
  check_every_step("select s.hcstats --ratio 0.25 --out p2.json", "p2.json", EACCES, 50);
}

BOOST_FIXTURE_TEST_CASE(extract_fails_cleanly_and_resumes_to_the_same_bytes, FaultCli) {
  const std::string args = "extract --model model --ids calib.ids --seq-len 32 --out x.hcstats";
  const std::string env = "env SOURCE_DATE_EPOCH=1700000000 ";
  BOOST_REQUIRE_EQUAL(
      shell(env + quote(HC_CLI_PATH) + " " + args + " && mv x.hcstats whole.hcstats").code, 0);
  const auto before = snapshot(work);
  const fs::path log = root / "steps.log";
  fs::remove(log);
  BOOST_REQUIRE_EQUAL(shell(faults(0, ENOSPC, log) + env + quote(HC_CLI_PATH) + " " + args).code,
                      0);
  const auto steps = lines_of(log);
  BOOST_TEST_MESSAGE("extract: " << steps.size() << " write steps");
  fs::remove(work / "x.hcstats");
  // The finished layers stay in x.hcstats.partial/ (a full disk late in a long run must not
  // cost the earlier layers); --resume after the fault gives the uninterrupted file.
  for (long at : sample_steps(static_cast<long>(steps.size()), 14)) {
    const std::string step = steps[static_cast<std::size_t>(at - 1)];
    const RunResult r = shell(faults(at, ENOSPC, log) + env + quote(HC_CLI_PATH) + " " + args);
    BOOST_CHECK_MESSAGE(r.code == 4,
                        "failing step " << step << ": exit " << r.code << ": " << r.err);
    BOOST_CHECK_MESSAGE(contains(r.err, "x.hcstats") && contains(r.err, std::strerror(ENOSPC)),
                        "failing step " << step << ": " << r.err);
    BOOST_CHECK(!fs::exists(work / "x.hcstats"));
    for (const auto& [name, bytes] : snapshot(work)) {
      if (before.count(name)) continue;
      BOOST_CHECK_MESSAGE(name.rfind("x.hcstats.partial", 0) == 0 && !contains(name, ".tmp."),
                          "failing step " << step << " left " << name);
    }
    BOOST_REQUIRE_EQUAL(shell(env + quote(HC_CLI_PATH) + " " + args + " --resume").code, 0);
    BOOST_CHECK_MESSAGE(hc::test::slurp(work / "x.hcstats") == before.at("whole.hcstats"),
                        "failing step " << step << ": the resumed file differs");
    fs::remove(work / "x.hcstats");
    BOOST_CHECK_MESSAGE(snapshot(work) == before,
                        "failing step " << step << ":" << differences(before, snapshot(work)));
  }
}

BOOST_FIXTURE_TEST_CASE(apply_and_the_checkpoint_writer_fail_cleanly_at_every_step, FaultCli) {
  const long steps =
      check_every_step("apply --model model --plan plan.json --out pruned", "pruned", ENOSPC, 40);
  BOOST_TEST_MESSAGE("apply: " << steps << " write steps");
  // A refused rename or a lost permission, at a few steps.
  check_every_step("apply --model model --plan plan.json --out pruned", "pruned", EXDEV, 6);
  check_every_step(
      "apply --model model --plan plan.json --stats s.hcstats --wanda 0.5 --out "
      "pruned",
      "pruned", EACCES, 8);
}

BOOST_FIXTURE_TEST_CASE(compare_fails_cleanly_at_every_step, FaultCli) {
  const long steps = check_every_step(
      "compare --model model --stats s.hcstats --ids held.ids --seq-len 32 --methods hodgecover "
      "frequency --ratios 0.5 --wanda 0 --out cmp",
      "cmp", ENOSPC, 24);
  BOOST_TEST_MESSAGE("compare: " << steps << " write steps");
}

BOOST_FIXTURE_TEST_CASE(demo_fails_cleanly_at_every_step, FaultCli) {
  const long steps = check_every_step(
      "demo --tokens 256 --eval-tokens 256 --seq-len 64 --max-triangles 16 --ratios 0.5 "
      "--wanda 0 --checkpoints best --out demo-run",
      "demo-run", ENOSPC, 6);
  BOOST_TEST_MESSAGE("demo: " << steps << " write steps");
}

// ---- real limits from the kernel -------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_file_size_limit_fails_cleanly, FaultCli) {
  // RLIMIT_FSIZE: the kernel refuses to grow any file past 1 KiB (EFBIG; SIGXFSZ ignored), as a
  // filesystem that is nearly full would. The checkpoint's shards are 40 KB, a layer's
  // statistics a few KB.
  const auto before = snapshot(work);
  for (const std::string args :
       {"apply --model model --plan plan.json --out pruned",
        "extract --model model --ids calib.ids --seq-len 32 --out big.hcstats"}) {
    const RunResult r = shell(
        "sh -c " + quote("trap '' XFSZ; ulimit -f 2; exec " + quote(HC_CLI_PATH) + " " + args));
    BOOST_CHECK_MESSAGE(r.code == 4, args << ": exit " << r.code << ": " << r.err);
    BOOST_CHECK_MESSAGE(contains(r.err, std::strerror(EFBIG)), args << ": " << r.err);
    std::error_code ec;
    fs::remove_all(work / "big.hcstats.partial", ec);  // finished layers kept for --resume
    BOOST_CHECK_MESSAGE(snapshot(work) == before,
                        args << ":" << differences(before, snapshot(work)));
  }
}

BOOST_FIXTURE_TEST_CASE(a_full_tmpfs_fails_cleanly, FaultCli) {
  // A 32 KiB tmpfs in a private mount namespace (unprivileged user namespaces); where the
  // kernel does not allow one, the file-size case above is the real-limit check.
  if (shell("unshare -rm true").code != 0) {
    BOOST_TEST_MESSAGE("no user namespace here: the tmpfs case did not run");
    return;
  }
  const fs::path small = root / "small";
  fs::create_directory(small);
  const auto before = snapshot(work);
  const std::string inner = "mount -t tmpfs -o size=32k hc " + quote(small.string()) + " && " +
                            quote(HC_CLI_PATH) + " apply --model model --plan plan.json --out " +
                            quote((small / "pruned").string()) + "; rc=$?; ls -A " +
                            quote(small.string()) + " >" + quote((root / "left").string()) +
                            "; exit $rc";
  const RunResult r = shell("unshare -rm sh -c " + quote(inner));
  BOOST_CHECK_MESSAGE(r.code == 4, "exit " << r.code << ": " << r.err);
  BOOST_CHECK_MESSAGE(contains(r.err, "pruned") && contains(r.err, std::strerror(ENOSPC)), r.err);
  BOOST_CHECK_MESSAGE(hc::test::slurp(root / "left").empty(),
                      "left on the full filesystem: " << hc::test::slurp(root / "left"));
  BOOST_CHECK(snapshot(work) == before);
}

// ---- killed at any moment ---------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(apply_killed_at_random_moments, CliFixture) {
  // Big enough (4 layers x 8 experts of 192 x 384, about 10 MB) that kills land in every stage.
  FixtureSizes s;
  s.layers = 4;
  s.hidden = 192;
  s.moe_intermediate = 384;
  s.vocab = 64;
  BOOST_REQUIRE(
      write_random_checkpoint(work / "model", Family::Mixtral, s, 3, hc::Dtype::BF16, 2000000)
          .ok());
  json layers = json::object();
  for (int l = 0; l < s.layers; ++l) {
    layers[std::to_string(l)] = {{"keep", {0, 2, 4, 6}}, {"merge_into", json::object()}};
  }
  hc::test::spit(work / "plan.json", json{{"format", "hodgecover.plan"},
                                          {"version", 1},
                                          {"method", "test"},
                                          {"params", json::object()},
                                          {"layers", layers}}
                                         .dump());
  const std::string args = "apply --model model --plan plan.json --out pruned";
  const auto t0 = Clock::now();
  ok(args);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto reference = snapshot(work / "pruned");
  fs::remove_all(work / "pruned");
  std::mt19937 rng(1401);
  std::uniform_real_distribution<double> when(0.0, 1.1 * seconds);
  int interrupted = 0, complete = 0;
  for (int i = 0; i < 12; ++i) {
    const auto delay = std::chrono::microseconds(static_cast<long>(when(rng) * 1e6));
    interrupted += run_and_kill(work, args, delay);
    std::string why;
    if (fs::exists(work / "pruned")) {
      ++complete;
      BOOST_CHECK_MESSAGE(complete_checkpoint(work / "pruned", why),
                          "killed after " << delay.count() << " us: " << why);
    } else {
      ok(args);  // the rerun succeeds, and removes the dead run's staging folder
      BOOST_CHECK_MESSAGE(complete_checkpoint(work / "pruned", why), why);
    }
    BOOST_CHECK_MESSAGE(snapshot(work / "pruned") == reference,
                        differences(reference, snapshot(work / "pruned")));
    fs::remove_all(work / "pruned");
    const int left = FaultCli::remove_leftovers(work);
    BOOST_CHECK_MESSAGE(left == 0, left << " temporaries of killed runs outlived the next run");
  }
  BOOST_TEST_MESSAGE("apply (" << seconds << " s): " << interrupted
                               << " of 12 runs killed while running, " << complete
                               << " left a complete output");
  BOOST_CHECK_GE(interrupted, 6);
}

BOOST_FIXTURE_TEST_CASE(compare_killed_at_random_moments, FaultCli) {
  const std::string args =
      "compare --model model --stats s.hcstats --ids held.ids --seq-len 32 --methods hodgecover "
      "frequency --ratios 0.5 --wanda 0 --out cmp";
  const double seconds = seconds_of(args, "cmp");
  std::mt19937 rng(1402);
  std::uniform_real_distribution<double> when(0.0, 1.1 * seconds);
  int interrupted = 0;
  for (int i = 0; i < 8; ++i) {
    const auto delay = std::chrono::microseconds(static_cast<long>(when(rng) * 1e6));
    interrupted += run_and_kill(work, args, delay);
    std::string why;
    if (fs::exists(work / "cmp")) {
      BOOST_CHECK_MESSAGE(complete_report(work / "cmp", why),
                          "killed after " << delay.count() << " us: " << why);
    } else {
      ok(args);
      BOOST_CHECK_MESSAGE(complete_report(work / "cmp", why), why);
    }
    fs::remove_all(work / "cmp");
    const int left = FaultCli::remove_leftovers(work);
    BOOST_CHECK_MESSAGE(left == 0, left << " temporaries of killed runs outlived the next run");
  }
  BOOST_TEST_MESSAGE("compare: " << interrupted << " of 8 runs killed while running");
  BOOST_CHECK_GE(interrupted, 4);
}

BOOST_FIXTURE_TEST_CASE(extract_resume_after_a_kill_anywhere_is_byte_identical, CliFixture) {
  FixtureSizes s;
  s.layers = 6;
  s.experts = 8;
  s.vocab = 64;
  BOOST_REQUIRE(write_random_checkpoint(work / "model", Family::Qwen3Moe, s, 9).ok());
  hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(512, 64, 13, 5));
  const std::string args = "extract --model model --ids calib.ids --seq-len 64 --out s.hcstats";
  const std::string env = "env SOURCE_DATE_EPOCH=1700000000";
  const auto t0 = Clock::now();
  BOOST_REQUIRE_EQUAL(shell(env + " " + quote(HC_CLI_PATH) + " " + args).code, 0);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::string whole = hc::test::slurp(work / "s.hcstats");
  fs::remove(work / "s.hcstats");
  std::mt19937 rng(1403);
  std::uniform_real_distribution<double> when(0.2 * seconds, 0.8 * seconds);
  int interrupted = 0, resumed_layers = 0;
  for (int i = 0; i < 8; ++i) {
    const auto delay = std::chrono::microseconds(static_cast<long>(when(rng) * 1e6));
    interrupted += run_and_kill(work, args, delay, env);
    if (!fs::exists(work / "s.hcstats")) {
      const RunResult r = shell(env + " " + quote(HC_CLI_PATH) + " " + args + " --resume --json");
      BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
      resumed_layers += json::parse(r.out).value("layers_resumed", 0);
    }
    BOOST_CHECK_MESSAGE(hc::test::slurp(work / "s.hcstats") == whole,
                        "killed after " << delay.count() << " us: the file differs");
    BOOST_CHECK(!fs::exists(work / "s.hcstats.partial"));
    fs::remove(work / "s.hcstats");
  }
  BOOST_TEST_MESSAGE("extract: " << interrupted << " of 8 runs killed; " << resumed_layers
                                 << " layers resumed");
  BOOST_CHECK_GE(interrupted, 4);
  BOOST_CHECK_GT(resumed_layers, 0);
}

// ---- numbers that stop being numbers ----------------------------------------------------

BOOST_FIXTURE_TEST_CASE(nan_or_inf_in_the_model_exits_6_and_writes_nothing, CliFixture) {
  FixtureSizes s;
  s.layers = 2;
  s.experts = 4;
  s.vocab = 64;
  const auto config = fixture_config(Family::Mixtral, s);
  auto spec = model_spec_from_config(config);
  BOOST_REQUIRE(spec.ok());
  hc::test::write_token_ids(work / "calib.ids", hc::test::token_ids(64, 64, 11, 3));
  // One expert of layer 1 with NaN weights, then (separately) infinite ones.
  const std::string down = spec->layers[1].experts[2].down;
  for (const float poison : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    auto tensors = random_tensors(*spec, 5, hc::Dtype::F32);
    for (auto& t : tensors) {
      if (t.name == down) std::fill(t.values.begin(), t.values.end(), poison);
    }
    std::error_code ec;
    fs::remove_all(work / "model", ec);
    BOOST_REQUIRE(write_checkpoint(work / "model", config, tensors, {}).ok());
    const auto before = snapshot(work);
    for (const std::string args :
         {"extract --model model --ids calib.ids --seq-len 32 --out s.hcstats",
          "eval --model model --ids calib.ids --seq-len 32"}) {
      const RunResult r = run(args);
      BOOST_CHECK_MESSAGE(r.code == 6, args << ": exit " << r.code << ": " << r.err);
      BOOST_CHECK_MESSAGE(contains(r.err, "NaN") && contains(r.err, "layer 1"), r.err);
      // Layer 0 was finished and stays in s.hcstats.partial/ (finite, for --resume); nothing
      // else is written.
      std::error_code partial_ec;
      if (contains(args, "extract")) {
        BOOST_CHECK(fs::exists(work / "s.hcstats.partial" / "layer-0.hcstats"));
        BOOST_CHECK(!fs::exists(work / "s.hcstats.partial" / "layer-1.hcstats"));
        fs::remove_all(work / "s.hcstats.partial", partial_ec);
      }
      BOOST_CHECK_MESSAGE(snapshot(work) == before, differences(before, snapshot(work)));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
