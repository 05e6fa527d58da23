// Tests of native file I/O: whole-file reads with path-naming errors and atomic writes that
// never leave partial output or temporaries.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hc/native/file_io.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace hc::native;
using hc::test::TempDir;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(file_io)

BOOST_AUTO_TEST_CASE(read_errors_name_the_path) {
  TempDir dir;
  std::vector<std::uint8_t> out{1, 2, 3};
  const fs::path missing = dir.root / "missing.hcstats";
  auto error = read_file(missing, out);
  BOOST_REQUIRE(!error.ok());
  BOOST_CHECK(error.error().code == hc::ErrorCode::InputUnreadable &&
              error.error().message.find("no such file") != std::string::npos);
  BOOST_CHECK(error.error().message.find(missing.string()) != std::string::npos);
  BOOST_CHECK(out.empty());

  error = read_file(dir.root / "missing_dir" / "x", out);
  BOOST_REQUIRE(!error.ok());
  BOOST_CHECK(error.error().code == hc::ErrorCode::InputUnreadable &&
              error.error().message.find("no such file") != std::string::npos);

  error = read_file(dir.root, out);
  BOOST_REQUIRE(!error.ok());
  BOOST_CHECK(error.error().code == hc::ErrorCode::InputUnreadable &&
              error.error().message.find("is a directory") != std::string::npos);
  BOOST_CHECK(error.error().message.find(dir.root.string()) != std::string::npos);

  // Root ignores permission bits, so only check unreadable files as an ordinary user.
  if (::geteuid() != 0) {
    const fs::path locked = dir.root / "locked";
    std::ofstream(locked) << "secret";
    fs::permissions(locked, fs::perms::none);
    error = read_file(locked, out);
    BOOST_REQUIRE(!error.ok());
    BOOST_CHECK(error.error().code == hc::ErrorCode::InputUnreadable);
  }
}

BOOST_AUTO_TEST_CASE(write_then_read_round_trips) {
  TempDir dir;
  const fs::path file = dir.root / "out.bin";
  std::vector<std::uint8_t> payload(200'000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 31);
  BOOST_REQUIRE(write_file_atomic(file, payload).ok());
  std::vector<std::uint8_t> back;
  BOOST_REQUIRE(read_file(file, back).ok());
  BOOST_CHECK(back == payload);
  BOOST_CHECK_EQUAL(dir.entries().size(), 1u);

  // Overwrite replaces the whole file, including with something shorter or empty.
  BOOST_REQUIRE(write_text_atomic(file, "short").ok());
  BOOST_REQUIRE(read_file(file, back).ok());
  BOOST_CHECK(back == bytes_of("short"));
  BOOST_REQUIRE(write_text_atomic(file, "").ok());
  BOOST_REQUIRE(read_file(file, back).ok());
  BOOST_CHECK(back.empty());
  BOOST_CHECK_EQUAL(dir.entries().size(), 1u);
}

BOOST_AUTO_TEST_CASE(failed_writes_leave_nothing) {
  TempDir dir;
  const fs::path nowhere = dir.root / "nodir" / "out.json";
  auto error = write_text_atomic(nowhere, "{}");
  BOOST_REQUIRE(!error.ok());
  BOOST_CHECK(error.error().code == hc::ErrorCode::WriteFailed);
  BOOST_CHECK(error.error().message.find(nowhere.string()) != std::string::npos);
  BOOST_CHECK(dir.entries().empty());

  const fs::path taken = dir.root / "taken";
  fs::create_directory(taken);
  error = write_text_atomic(taken, "{}");
  BOOST_REQUIRE(!error.ok());
  BOOST_CHECK(fs::is_directory(taken));
  BOOST_CHECK_EQUAL(dir.entries().size(), 1u);
}

BOOST_AUTO_TEST_CASE(stale_temporary_is_replaced) {
  TempDir dir;
  const fs::path file = dir.root / "plan.json";
  const fs::path temp = temp_path_for(file);
  BOOST_CHECK(temp.string().find(std::to_string(::getpid())) != std::string::npos);
  BOOST_CHECK_EQUAL(temp.parent_path(), file.parent_path());
  std::ofstream(temp) << "left over from a crash";
  BOOST_REQUIRE(write_text_atomic(file, "fresh").ok());
  std::vector<std::uint8_t> back;
  BOOST_REQUIRE(read_file(file, back).ok());
  BOOST_CHECK(back == bytes_of("fresh"));
  BOOST_CHECK(!fs::exists(temp));
}

BOOST_AUTO_TEST_CASE(remove_tree_removes_contents_not_link_targets) {
  TempDir dir;
  const fs::path tree = dir.root / "tree";
  fs::create_directories(tree / "a" / "b");
  std::ofstream(tree / "f.bin") << "x";
  std::ofstream(tree / "a" / "b" / "g.bin") << "y";
  fs::create_directories(dir.root / "outside");
  std::ofstream(dir.root / "outside" / "keep.txt") << "z";
  fs::create_directory_symlink(dir.root / "outside", tree / "a" / "link");
  std::error_code ec;
  remove_tree(tree, ec);
  BOOST_CHECK(!ec);
  BOOST_CHECK(!fs::exists(tree));
  BOOST_CHECK(fs::exists(dir.root / "outside" / "keep.txt"));  // the link, not its target
  remove_tree(tree, ec);                                       // missing: no error
  BOOST_CHECK(!ec);
  std::ofstream(dir.root / "plain.txt") << "w";  // a plain file is removed too
  remove_tree(dir.root / "plain.txt", ec);
  BOOST_CHECK(!ec);
  BOOST_CHECK(!fs::exists(dir.root / "plain.txt"));
}

BOOST_AUTO_TEST_CASE(temporaries_of_killed_writers_are_removed) {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) std::_Exit(0);
  ::waitpid(child, nullptr, 0);  // a process that no longer runs
  const std::string dead = std::to_string(child), alive = std::to_string(::getpid());
  auto file = [&](const std::string& name) { std::ofstream(dir.root / name) << "x"; };
  auto folder = [&](const std::string& name) {
    fs::create_directory(dir.root / name);
    std::ofstream(dir.root / name / "inside") << "x";
  };
  file("out.tmp." + dead);
  folder("out.staging." + dead);
  folder("out.staging." + dead + ".tmp." + dead);
  folder(".out.tmp-" + dead + "-aB3xYz");
  const std::vector<std::string> kept = {"out",
                                         "out.tmp." + alive,           // this process runs
                                         "out.tmp.1",                  // init runs
                                         "out.staging." + dead + "x",  // not a temporary name
                                         "out.partial",                // extract's resumable state
                                         "other.tmp." + dead,          // another output's
                                         ".out.tmp-" + alive + "-QQQQQQ"};
  for (const auto& name : kept) file(name);
  BOOST_CHECK_EQUAL(remove_dead_temporaries(dir.root / "out"), 4u);
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.root))
    left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  std::vector<std::string> expected = kept;
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(left == expected, boost::test_tools::per_element());
  BOOST_CHECK_EQUAL(remove_dead_temporaries(dir.root / "out/"), 0u);
}

BOOST_AUTO_TEST_SUITE_END()
