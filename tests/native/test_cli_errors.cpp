// End-to-end tests of the `hodgecover` binary's failure paths: exit codes, messages naming
// the file, and no partial or stray output (docs/CLI.md).
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

#include "test_support.hpp"

using hc::test::check_no_temporaries;
using hc::test::CliFixture;
using hc::test::container_with;
using hc::test::contains;
using hc::test::RunResult;
using hc::test::slurp;
using hc::test::spit;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(cli_errors)

BOOST_FIXTURE_TEST_CASE(usage_errors_exit_2, CliFixture) {
  synth("s.hcstats");
  for (const char* args :
       {"", "--bogus", "select s.hcstats --keep 2 --bogus", "select s.hcstats --keep 2 --ratio 0.5",
        "select s.hcstats", "select s.hcstats --keep 2 --tau 1 --tau-quantile 0.5",
        "select s.hcstats --keep 2 --method nope", "select s.hcstats --keep 99",
        "select s.hcstats --ratio 1.5", "decompose s.hcstats --tau-quantile 0.3 --tau 2",
        "decompose s.hcstats --edges some", "decompose s.hcstats --layer 42", "decompose",
        "synth --layers 2", "info s.hcstats extra"}) {
    const RunResult r = run(args);
    BOOST_CHECK_MESSAGE(r.code == 2, "'" << args << "' exited " << r.code << ", expected 2");
    BOOST_CHECK_MESSAGE(contains(r.err, "error"), "'" << args << "' printed no error");
  }
}

BOOST_FIXTURE_TEST_CASE(bad_input_files_exit_3, CliFixture) {
  synth("good.hcstats");
  const std::string good = slurp(work / "good.hcstats");
  spit(work / "truncated.hcstats", good.substr(0, good.size() / 2));
  spit(work / "short.hcstats", good.substr(0, 5));
  spit(work / "empty.hcstats", "");
  std::string noise(4096, '\0');
  std::uint32_t state = 12345;
  for (char& c : noise) c = static_cast<char>((state = state * 1664525u + 1013904223u) >> 24);
  spit(work / "random.hcstats", noise);
  std::string flipped = good;
  flipped.back() = static_cast<char>(flipped.back() ^ 0x5a);  // data section: checksum fails
  spit(work / "flipped.hcstats", flipped);
  spit(work / "other.hcstats", container_with({{"format", "something.else"}}));
  spit(work / "newer.hcstats",
       container_with({{"format", "hodgecover.stats"}, {"format_version", "2.0"}}));
  fs::create_directory(work / "dir.hcstats");

  for (const char* file :
       {"missing.hcstats", "truncated.hcstats", "short.hcstats", "empty.hcstats", "random.hcstats",
        "flipped.hcstats", "other.hcstats", "newer.hcstats", "dir.hcstats"}) {
    for (const std::string command : {"info", "decompose", "select --ratio 0.5"}) {
      const RunResult r = run(command + " " + file);
      BOOST_CHECK_MESSAGE(r.code == 3, command << " " << file << " exited " << r.code);
      BOOST_CHECK_MESSAGE(contains(r.err, file), command << " " << file << ": " << r.err);
    }
  }
  BOOST_CHECK(contains(run("info newer.hcstats").err, "newer"));
  BOOST_CHECK(contains(run("info dir.hcstats").err, "director"));
}

BOOST_FIXTURE_TEST_CASE(select_on_a_file_without_moe_layers_exits_3_and_writes_nothing,
                        CliFixture) {
  spit(work / "empty.hcstats",
       container_with(
           {{"format", "hodgecover.stats"}, {"format_version", "1.0"}, {"moe_layers", ""}}));
  for (const std::string budget : {"--ratio 0.5", "--keep 2", "--ratio 0.5 --compare"}) {
    const RunResult r = run("select empty.hcstats " + budget + " --out plan.json");
    BOOST_TEST(r.code == 3, budget << ": exit " << r.code);
    BOOST_TEST(contains(r.err, "empty.hcstats"));
    BOOST_TEST(contains(r.err, "no MoE layers"));
    BOOST_TEST(!fs::exists(work / "plan.json"));
  }
}

BOOST_FIXTURE_TEST_CASE(unwritable_output_leaves_nothing, CliFixture) {
  synth("s.hcstats");
  const auto before = work_files();

  RunResult r = run("synth --layers 2 --experts 6 --out nodir/x.hcstats");
  BOOST_CHECK_NE(r.code, 0);
  BOOST_CHECK(contains(r.err, "nodir"));
  r = run("select s.hcstats --ratio 0.5 --out nodir/plan.json");
  BOOST_CHECK_NE(r.code, 0);
  BOOST_CHECK(contains(r.err, "nodir"));
  r = run("demo --synthetic --layers 2 --experts 8 --out nodir/demo.hcstats");
  BOOST_CHECK_NE(r.code, 0);
  BOOST_CHECK(!fs::exists(work / "nodir"));
  BOOST_CHECK(before == work_files());

  // An existing directory as the output is refused and left alone.
  fs::create_directory(work / "taken");
  r = run("select s.hcstats --ratio 0.5 --out taken");
  BOOST_CHECK_NE(r.code, 0);
  BOOST_CHECK(fs::is_directory(work / "taken"));
  check_no_temporaries(*this);

  // A failing selection after a good plan exists leaves the old plan untouched.
  ok("select s.hcstats --ratio 0.5 --out plan.json");
  const std::string plan = slurp(work / "plan.json");
  BOOST_CHECK_EQUAL(run("select s.hcstats --keep 99 --out plan.json").code, 2);
  BOOST_CHECK_EQUAL(slurp(work / "plan.json"), plan);
}

BOOST_FIXTURE_TEST_CASE(inputs_unchanged_by_every_command, CliFixture) {
  synth("s.hcstats");
  const std::string original = slurp(work / "s.hcstats");
  for (const char* args :
       {"info s.hcstats", "info s.hcstats --json", "decompose s.hcstats",
        "decompose s.hcstats --json --layer 0", "select s.hcstats --ratio 0.5 --out plan.json",
        "select s.hcstats --keep 2 --compare", "select s.hcstats --keep 2 --json"}) {
    run(args);
    BOOST_CHECK_MESSAGE(slurp(work / "s.hcstats") == original, "'" << args << "' changed input");
  }
  check_no_temporaries(*this);
}

// Commands this build lacks explain themselves (usage error, exit 2) and write nothing.
BOOST_FIXTURE_TEST_CASE(unavailable_commands_explain_and_exit_2, CliFixture) {
  std::vector<std::pair<std::string, std::string>> cases;
  if (!HC_CLI_HAS_TORCH) {
    cases.emplace_back("extract --model m --text t.txt --out x.hcstats", "LibTorch");
    cases.emplace_back("eval", "LibTorch");
  }
  // With LibTorch every command exists: `apply` without options is a usage error too.
  if (HC_CLI_HAS_TORCH) cases.emplace_back("apply", "--model");
  for (const auto& [args, reason] : cases) {
    const RunResult r = run(args);
    BOOST_CHECK_EQUAL(r.code, 2);
    BOOST_CHECK_MESSAGE(contains(r.err, reason), args << ": " << r.err);
  }
  BOOST_CHECK(work_files().empty());
}

BOOST_AUTO_TEST_SUITE_END()
