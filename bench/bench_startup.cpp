// Start-up cost of the CLI: wall time of `hodgecover --help`, of `hodgecover select` on a small
// statistics file, and of the LibTorch helper's `--help`, each next to a do-nothing process
// (`true`) measured in the same run. Usage: bench_startup [HODGECOVER] [RUNS]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Runs argv with stdout/stderr sent to /dev/null; returns seconds, or a negative number.
double run_once(const std::vector<std::string>& argv) {
  std::fflush(stdout);  // or the child's freopen would flush our buffered lines a second time
  std::fflush(stderr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? seconds : -1;
}

struct Timing {
  double median = 0, min = 0;
  bool ok = true;
};

Timing time_command(const std::vector<std::string>& argv, int runs) {
  std::vector<double> samples;
  Timing timing;
  for (int i = 0; i < runs; ++i) {
    const double s = run_once(argv);
    if (s < 0) timing.ok = false;
    samples.push_back(s);
  }
  std::sort(samples.begin(), samples.end());
  timing.median = samples[samples.size() / 2];
  timing.min = samples.front();
  return timing;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cli = argc > 1 ? argv[1] : "build/hodgecover";
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 21;
  const fs::path helper = fs::path(cli).parent_path() / "hodgecover-torch";
  const fs::path stats =
      fs::temp_directory_path() / ("hc-bench-startup-" + std::to_string(::getpid()) + ".hcstats");
  if (run_once({cli, "synth", "--layers", "4", "--experts", "16", "--seed", "0", "--out",
                stats.string()}) < 0) {
    std::fprintf(stderr, "bench_startup: '%s synth' failed; pass the hodgecover path\n",
                 cli.c_str());
    return 1;
  }

  struct Row {
    std::string name;
    std::vector<std::string> argv;
  };
  std::vector<Row> rows = {
      {"true (do-nothing process)", {"true"}},
      {"hodgecover --help", {cli, "--help"}},
      {"hodgecover select (4 x 16 file)",
       {cli, "select", stats.string(), "--method", "hodgecover", "--ratio", "0.5"}},
  };
  if (fs::exists(helper))
    rows.push_back({"hodgecover-torch --help (loads LibTorch)", {helper.string(), "--help"}});

  std::printf("%-44s %10s %10s %8s\n", "command", "median ms", "min ms", "x true");
  double baseline = 0;
  int status = 0;
  for (const Row& row : rows) {
    const Timing t = time_command(row.argv, runs);
    if (!t.ok) status = 1;
    if (baseline == 0) baseline = t.median;
    std::printf("%-44s %10.2f %10.2f %8.1f%s\n", row.name.c_str(), t.median * 1e3, t.min * 1e3,
                t.median / baseline, t.ok ? "" : "  (failed)");
  }
  std::printf("(%d runs each; median and minimum wall time)\n", runs);
  fs::remove(stats);
  return status;
}
