// Fuzz target: the statistics file reader with its validation (also the dashboard's load path).
// A file it accepts must write back and read again.
#include <cstddef>
#include <cstdint>
#include <span>

#include "hc/stats_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto stats = hc::read_stats(std::span<const std::uint8_t>(data, size), "fuzz.hcstats");
  if (!stats.ok()) return 0;
  auto bytes = hc::write_stats(*stats);
  if (!bytes.ok()) return 0;  // e.g. metadata the writer refuses; never a crash
  if (!hc::read_stats(*bytes, "rewritten.hcstats").ok()) __builtin_trap();
  return 0;
}
