// Benchmark: eval throughput (tokens/s on CPU) of a fixture MoE model, layer-streamed with each
// layer decoded once for all sequences, against the per-sequence forward (weights decoded for
// every sequence) in the same run; and the peak resident memory of a fresh process evaluating a
// checkpoint several times larger than the memory budget.
// Usage: bench_eval [--tokens N] [--seq-len L] [--hidden H] [--experts E] [--layers L]
//                   [--big-layers L] [--big-hidden H] [--dir DIR]   (fixtures cached in DIR)
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "checkpoint_fixture.hpp"
#include "hc/native/evaluate.hpp"
#include "hc/native/forward.hpp"

namespace fs = std::filesystem;
using namespace hc::native;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long arg_long(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
  return fallback;
}

std::string arg_text(int argc, char** argv, const char* name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

// A /proc/self/status memory field ("VmHWM" peak resident set, "VmRSS" current) in MiB.
double status_mib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atof(line.c_str() + prefix.size()) / 1024.0;
  }
  return -1.0;
}

std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

std::vector<std::vector<std::int32_t>> sequences(long tokens, long seq_len, int vocab) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens));
  std::uint64_t state = 12345;
  for (auto& id : ids) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    id = static_cast<std::int32_t>((state >> 33) % static_cast<std::uint64_t>(vocab));
  }
  std::vector<std::vector<std::int32_t>> out;
  for (long s = 0; s + seq_len <= tokens; s += seq_len) {
    out.emplace_back(ids.begin() + s, ids.begin() + s + seq_len);
  }
  return out;
}

void write_or_die(const fs::path& dir, const FixtureSizes& sizes) {
  if (fs::exists(dir / "config.json")) return;  // reused between runs
  if (hc::Status error =
          write_random_checkpoint(dir, Family::Qwen3Moe, sizes, 7, hc::Dtype::BF16, 256ull << 20);
      !error.ok()) {
    std::fprintf(stderr, "bench_eval: %s\n", error.error().message.c_str());
    std::exit(1);
  }
}

// Child mode: evaluate `dir` once; print the resident memory before (LibTorch runtime loaded),
// the peak, and the time.
int memory_run(const fs::path& dir, long tokens, long seq_len, int vocab) {
  (void)at::ones({4}).sum().item<float>();  // initialise the runtime before the first reading
  const double before = status_mib("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  auto result = evaluate_models({dir}, sequences(tokens, seq_len, vocab), at::Device(at::kCPU));
  if (!result.ok()) {
    std::fprintf(stderr, "bench_eval: %s\n", result.error().message.c_str());
    return 1;
  }
  std::printf("%.1f %.1f %.2f\n", before, status_mib("VmHWM"), seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path root =
      arg_text(argc, argv, "--dir", (fs::temp_directory_path() / "hc-bench-eval").string());
  const long tokens = arg_long(argc, argv, "--tokens", 4096);
  const long seq_len = arg_long(argc, argv, "--seq-len", 512);
  if (argc >= 3 && std::strcmp(argv[1], "--memory-run") == 0) {
    return memory_run(argv[2], tokens, seq_len,
                      static_cast<int>(arg_long(argc, argv, "--vocab", 0)));
  }
  fs::create_directories(root);

  // ---- throughput ----
  FixtureSizes small;
  small.layers = static_cast<int>(arg_long(argc, argv, "--layers", 4));
  small.hidden = static_cast<int>(arg_long(argc, argv, "--hidden", 256));
  small.heads = 8;
  small.kv_heads = 4;
  small.experts = static_cast<int>(arg_long(argc, argv, "--experts", 16));
  small.top_k = 2;
  small.moe_intermediate = small.hidden;
  small.vocab = 4096;
  const fs::path small_dir =
      root / ("small-" + std::to_string(small.layers) + "x" + std::to_string(small.hidden) + "x" +
              std::to_string(small.experts));
  write_or_die(small_dir, small);
  const auto seqs = sequences(tokens, seq_len, small.vocab);
  const long used = static_cast<long>(seqs.size()) * seq_len;

  auto start = std::chrono::steady_clock::now();
  auto streamed = evaluate_models({small_dir}, seqs, at::Device(at::kCPU));
  const double t_streamed = seconds_since(start);
  if (!streamed.ok()) {
    std::fprintf(stderr, "bench_eval: %s\n", streamed.error().message.c_str());
    return 1;
  }
  auto model = ForwardModel::open(small_dir);
  start = std::chrono::steady_clock::now();
  double nll = 0;
  for (const auto& s : seqs) nll += std::log(*model->perplexity(s));
  const double t_baseline = seconds_since(start);
  std::printf(
      "model: qwen3_moe fixture, %d layers, hidden %d, %d experts top-%d, vocab %d, bf16 (%s)\n",
      small.layers, small.hidden, small.experts, small.top_k, small.vocab, small_dir.c_str());
  std::printf("eval %ld tokens (%zu x %ld), %d threads\n", used, seqs.size(), seq_len,
              at::get_num_threads());
  std::printf("  layer-streamed eval:         %8.3f s  %9.0f tokens/s  (perplexity %.3f)\n",
              t_streamed, double(used) / t_streamed, (*streamed)[0].perplexity);
  std::printf("  baseline per-sequence:       %8.3f s  %9.0f tokens/s  (perplexity %.3f)\n",
              t_baseline, double(used) / t_baseline, std::exp(nll / double(seqs.size())));
  std::printf("  speedup over baseline:       %8.2fx\n", t_baseline / t_streamed);

  // ---- peak memory while streaming a checkpoint larger than the budget ----
  FixtureSizes big;
  big.layers = static_cast<int>(arg_long(argc, argv, "--big-layers", 8));
  big.hidden = static_cast<int>(arg_long(argc, argv, "--big-hidden", 512));
  big.heads = 8;
  big.kv_heads = 4;
  big.experts = 32;
  big.top_k = 4;
  big.moe_intermediate = 2 * big.hidden;
  big.vocab = 8192;
  const fs::path big_dir =
      root / ("big-" + std::to_string(big.layers) + "x" + std::to_string(big.hidden));
  write_or_die(big_dir, big);
  const double ckpt_mib = double(dir_bytes(big_dir)) / (1 << 20);
  const double layer_mib = ckpt_mib / big.layers;
  const std::string command = "'" + fs::read_symlink("/proc/self/exe").string() +
                              "' --memory-run '" + big_dir.string() +
                              "' --tokens 1024 --seq-len 256 --vocab " + std::to_string(big.vocab);
  FILE* pipe = ::popen(command.c_str(), "r");
  double before = -1, peak = -1, seconds = 0;
  if (pipe == nullptr || std::fscanf(pipe, "%lf %lf %lf", &before, &peak, &seconds) != 3) {
    std::fprintf(stderr, "bench_eval: memory run failed\n");
    return 1;
  }
  ::pclose(pipe);
  std::printf(
      "streaming memory: checkpoint %.0f MiB on disk (bf16, %d layers, ~%.0f MiB/layer, "
      "~%.0f MiB/layer decoded to fp32)\n",
      ckpt_mib, big.layers, layer_mib, 2 * layer_mib);
  std::printf(
      "  fresh eval process, 1024 tokens: resident %.0f MiB before (LibTorch runtime), "
      "peak %.0f MiB (%.2f of the checkpoint; %.0f MiB above the runtime), %.1f s\n",
      before, peak, peak / ckpt_mib, peak - before, seconds);
  return 0;
}
