// Benchmark: `extract` on a fixture MoE model on CPU: total time, share per stage, and pair-
// barrier throughput (merged-expert token evaluations per second) for kl_lens, against the
// exact kl_full barrier (later layers rerun per pair) in the same run.
// Usage: bench_extract [--layers L] [--hidden H] [--experts E] [--vocab V] [--tokens N]
//                      [--seq-len S] [--dir DIR]   (fixture cached in DIR)
#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint_fixture.hpp"
#include "hc/native/device.hpp"
#include "hc/native/extract.hpp"

namespace fs = std::filesystem;
using namespace hc::native;

namespace {

long arg_long(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
  return fallback;
}

void report(const char* label, const ExtractSummary& s) {
  const double other = s.seconds - s.stats_seconds - s.pair_seconds - s.triangle_seconds;
  std::printf(
      "%s: %.2f s total | stats %.0f%%, pairs %.0f%%, triangles %.0f%%, forward+io %.0f%%\n", label,
      s.seconds, 100 * s.stats_seconds / s.seconds, 100 * s.pair_seconds / s.seconds,
      100 * s.triangle_seconds / s.seconds, 100 * other / s.seconds);
  std::printf(
      "    pair barriers: %llu merged-expert token evaluations, %.0f /s; triangles: %llu, %.0f "
      "/s\n",
      static_cast<unsigned long long>(s.pair_evaluations),
      double(s.pair_evaluations) / s.pair_seconds,
      static_cast<unsigned long long>(s.triangle_evaluations),
      s.triangle_seconds > 0 ? double(s.triangle_evaluations) / s.triangle_seconds : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator_for_tensors();
  FixtureSizes sizes;
  sizes.layers = static_cast<int>(arg_long(argc, argv, "--layers", 4));
  sizes.hidden = static_cast<int>(arg_long(argc, argv, "--hidden", 128));
  sizes.heads = 4;
  sizes.kv_heads = 2;
  sizes.experts = static_cast<int>(arg_long(argc, argv, "--experts", 16));
  sizes.top_k = 2;
  sizes.moe_intermediate = sizes.hidden;
  sizes.vocab = static_cast<int>(arg_long(argc, argv, "--vocab", 2048));
  const long tokens = arg_long(argc, argv, "--tokens", 1024);
  const long seq_len = arg_long(argc, argv, "--seq-len", 256);
  const fs::path root = argc > 0 ? fs::temp_directory_path() / "hc-bench-extract" : fs::path();
  const fs::path model =
      root / ("olmoe-" + std::to_string(sizes.layers) + "x" + std::to_string(sizes.hidden) + "x" +
              std::to_string(sizes.experts));
  fs::create_directories(root);
  if (!fs::exists(model / "config.json")) {
    if (hc::Status e = write_random_checkpoint(model, Family::Olmoe, sizes, 3, hc::Dtype::BF16);
        !e.ok()) {
      std::fprintf(stderr, "bench_extract: %s\n", e.error().message.c_str());
      return 1;
    }
  }
  std::string raw;
  for (long i = 0; i < tokens; ++i) {
    const std::int32_t id = static_cast<std::int32_t>((i * 7919 + 17) % sizes.vocab);
    raw.append(reinterpret_cast<const char*>(&id), sizeof(id));
  }
  const fs::path ids = root / "calib.ids";
  FILE* f = std::fopen(ids.c_str(), "wb");
  std::fwrite(raw.data(), 1, raw.size(), f);
  std::fclose(f);

  std::printf(
      "model: olmoe fixture, %d layers, hidden %d, %d experts top-%d, vocab %d, bf16; "
      "%ld tokens (seq %ld), %d threads\n",
      sizes.layers, sizes.hidden, sizes.experts, sizes.top_k, sizes.vocab, tokens, seq_len,
      at::get_num_threads());
  ExtractSummary lens_summary;
  for (auto kind : {BarrierKind::KlLens, BarrierKind::KlFull}) {
    ExtractOptions options;
    options.model = model;
    options.source.ids_path = ids.string();
    options.out = root / (std::string(barrier_name(kind)) + ".hcstats");
    options.tokens = static_cast<std::size_t>(tokens);
    options.seq_len = static_cast<std::size_t>(seq_len);
    options.barrier = kind;
    auto summary = run_extract(options);
    if (!summary.ok()) {
      std::fprintf(stderr, "bench_extract: %s\n", summary.error().message.c_str());
      return 1;
    }
    report(barrier_name(kind), *summary);
    if (kind == BarrierKind::KlLens) {
      lens_summary = *summary;
    } else {
      std::printf("kl_lens pair stage is %.1fx faster than the exact kl_full baseline\n",
                  summary->pair_seconds / lens_summary.pair_seconds);
    }
  }
  return 0;
}
