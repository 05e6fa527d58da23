// The numpy-only Python reader (scripts/hcstats.py) opens files the CLI writes and sees the
// same layers, expert counts and barriers as the C++ reader.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "hc/stats_file.hpp"
#include "test_support.hpp"

using namespace hc::test;

BOOST_AUTO_TEST_SUITE(python_reader)

BOOST_FIXTURE_TEST_CASE(numpy_reader_agrees_with_the_cpp_reader, CliFixture) {
  synth("toy.hcstats", "", 4);
  const std::string script = std::string(HC_SOURCE_DIR) + "/scripts/hcstats.py";
  const std::string command = "/usr/bin/python3 " + quote(script) + " " +
                              quote((work / "toy.hcstats").string()) + " --json > " +
                              quote((root / "py.json").string()) + " 2> " +
                              quote((root / "py.err").string());
  BOOST_REQUIRE_MESSAGE(std::system(command.c_str()) == 0,
                        "python reader failed: " << slurp(root / "py.err"));
  const auto py = nlohmann::json::parse(slurp(root / "py.json"));

  const std::string bytes = slurp(work / "toy.hcstats");
  auto stats = hc::read_stats({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                              "toy.hcstats");
  BOOST_REQUIRE(stats.ok());
  BOOST_TEST(py["format"].get<std::string>() == "hodgecover.stats");
  BOOST_TEST(py["family"].get<std::string>() == stats->family);
  BOOST_REQUIRE(py["layers"].size() == stats->layers.size());
  for (std::size_t i = 0; i < stats->layers.size(); ++i) {
    const hc::LayerStats& l = stats->layers[i];
    const auto& p = py["layers"][i];
    BOOST_TEST(p["layer"].get<int>() == l.layer);
    BOOST_TEST(p["experts"].get<int>() == l.experts);
    BOOST_TEST(p["edges"].get<std::size_t>() == l.edges.size());
    BOOST_TEST(p["triangles"].get<std::size_t>() == l.triangles.size());
    double mean = 0;
    for (float b : l.edge_barrier) mean += b;
    mean /= static_cast<double>(l.edge_barrier.size());
    BOOST_TEST(p["mean_edge_barrier"].get<double>() == mean, boost::test_tools::tolerance(1e-6));
  }
}

BOOST_FIXTURE_TEST_CASE(numpy_reader_rejects_a_truncated_file, CliFixture) {
  spit(work / "bad.hcstats", std::string("\x10\x00\x00", 3));
  const std::string script = std::string(HC_SOURCE_DIR) + "/scripts/hcstats.py";
  const std::string command = "/usr/bin/python3 " + quote(script) + " " +
                              quote((work / "bad.hcstats").string()) + " > /dev/null 2> " +
                              quote((root / "py.err").string());
  BOOST_TEST(std::system(command.c_str()) != 0);
  BOOST_TEST(contains(slurp(root / "py.err"), "shorter than 8 bytes"));
}

BOOST_AUTO_TEST_SUITE_END()
