// Tests of the CLI's shared pieces: exit-code mapping, the error boundary, stats loading errors
// and the small formatting helpers.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "cli_common.hpp"

namespace fs = std::filesystem;
using namespace hc::native;

BOOST_AUTO_TEST_SUITE(cli_common)

BOOST_AUTO_TEST_CASE(error_codes_map_to_exit_codes) {
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::NotStatsFile), 3);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::UnsupportedVersion), 3);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::Malformed), 3);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::Corrupt), 3);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::InvalidArgument), 2);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::NumericalFailure), 4);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::InputUnreadable), 3);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::WriteFailed), 4);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::DeviceOutOfMemory), 5);
  BOOST_CHECK_EQUAL(exit_code_for(hc::ErrorCode::DeviceFailure), 5);
}

BOOST_AUTO_TEST_CASE(boundary_turns_exceptions_into_exit_codes) {
  BOOST_CHECK_EQUAL(run_guarded("t", [] { return 0; }), 0);
  BOOST_CHECK_EQUAL(run_guarded("t", []() -> int { fail(hc::ErrorCode::Malformed, "bad file"); }),
                    3);
  BOOST_CHECK_EQUAL(run_guarded("t", []() -> int { throw std::runtime_error("boom"); }), 4);
  BOOST_CHECK_EQUAL(run_guarded("t", []() -> int { throw 42; }), 4);
  BOOST_CHECK_EQUAL(run_guarded("t", []() -> int { throw CLI::ValidationError("x"); }), 2);
  const hc::Result<int> bad = hc::make_error(hc::ErrorCode::Corrupt, "f: nan");
  BOOST_CHECK_EQUAL(run_guarded("t", [&] { return take(hc::Result<int>(bad)); }), 3);
}

BOOST_AUTO_TEST_CASE(device_out_of_memory_exits_5_and_names_what_to_lower) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  const int code = run_guarded("extract", []() -> int {
    fail(hc::ErrorCode::DeviceOutOfMemory, "layer 3: out of device memory; lower the tokens");
  });
  std::cerr.rdbuf(old);
  BOOST_CHECK_EQUAL(code, 5);
  BOOST_CHECK(captured.str().find("--tokens") != std::string::npos);
  BOOST_CHECK(captured.str().find("--device cpu") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(load_stats_names_the_file) {
  const fs::path missing = fs::temp_directory_path() / "hc-test-no-such-file.hcstats";
  try {
    load_stats(missing.string());
    BOOST_FAIL("expected a failure");
  } catch (const CommandFailure& e) {
    BOOST_CHECK_EQUAL(e.exit_code(), 3);
    BOOST_CHECK(std::string(e.what()).find(missing.string()) != std::string::npos);
  }
  const fs::path junk = fs::temp_directory_path() / "hc-test-junk.hcstats";
  std::ofstream(junk) << "definitely not safetensors";
  try {
    load_stats(junk.string());
    BOOST_FAIL("expected a failure");
  } catch (const CommandFailure& e) {
    BOOST_CHECK_EQUAL(e.exit_code(), 3);
    BOOST_CHECK(std::string(e.what()).find(junk.string()) != std::string::npos);
  }
  fs::remove(junk);
}

BOOST_AUTO_TEST_CASE(helpers_format_and_average) {
  BOOST_CHECK_EQUAL(strprintf("%d-%s-%.2f", 7, "x", 0.5), "7-x-0.50");
  BOOST_CHECK_EQUAL(strprintf("%s", std::string(500, 'a').c_str()).size(), 500u);
  std::map<int, hc::RetainedMasses> by_layer;
  by_layer[0] = {1.0, 0.5, 0.0, 1.0};
  by_layer[4] = {0.0, 0.5, 1.0, 0.0};
  const hc::RetainedMasses mean = hc::mean_retained(by_layer);
  BOOST_CHECK_CLOSE(mean.gradient, 0.5, 1e-12);
  BOOST_CHECK_CLOSE(mean.curl, 0.5, 1e-12);
  BOOST_CHECK_CLOSE(mean.harmonic, 0.5, 1e-12);
  BOOST_CHECK_CLOSE(mean.triangle, 0.5, 1e-12);
  BOOST_CHECK_EQUAL(hc::mean_retained({}).harmonic, 1.0);
  // Invalid UTF-8 (a model name from some checkpoint) must not abort the dump.
  BOOST_CHECK_NO_THROW(json_text(nlohmann::json{{"model", std::string("\xff\xfe")}}));
}

BOOST_AUTO_TEST_SUITE_END()
