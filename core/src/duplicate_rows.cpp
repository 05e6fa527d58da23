// Repeated-row detection for edge and triangle lists (duplicate_rows.hpp).
#include "duplicate_rows.hpp"

#include <algorithm>
#include <utility>

namespace hc::detail {
namespace {

constexpr std::uint64_t kBitmapLimit = std::uint64_t{1} << 24;

// The row's vertices in ascending order, as one number in base `vertices`.
template <std::size_t W>
std::uint64_t row_key(std::array<std::int32_t, W> row, std::uint64_t vertices) {
  std::sort(row.begin(), row.end());
  std::uint64_t key = 0;
  for (const std::int32_t v : row) key = key * vertices + static_cast<std::uint64_t>(v);
  return key;
}

}  // namespace

template <std::size_t W>
std::optional<std::size_t> find_duplicate_row(const std::vector<std::array<std::int32_t, W>>& rows,
                                              int vertices) {
  const auto n = static_cast<std::uint64_t>(std::max(vertices, 1));
  std::uint64_t space = 1;
  for (std::size_t i = 0; i < W && space <= kBitmapLimit; ++i) space *= n;
  if (space <= kBitmapLimit) {
    std::vector<std::uint64_t> seen((space + 63) / 64, 0);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::uint64_t key = row_key(rows[r], n);
      std::uint64_t& word = seen[key / 64];
      const std::uint64_t bit = std::uint64_t{1} << (key % 64);
      if (word & bit) return r;
      word |= bit;
    }
    return std::nullopt;
  }
  std::vector<std::pair<std::uint64_t, std::size_t>> keyed(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) keyed[r] = {row_key(rows[r], n), r};
  std::sort(keyed.begin(), keyed.end());
  std::optional<std::size_t> first;  // the earliest row that repeats an earlier one
  for (std::size_t i = 1; i < keyed.size(); ++i)
    if (keyed[i].first == keyed[i - 1].first && (!first || keyed[i].second < *first))
      first = keyed[i].second;
  return first;
}

template std::optional<std::size_t> find_duplicate_row<2>(
    const std::vector<std::array<std::int32_t, 2>>&, int);
template std::optional<std::size_t> find_duplicate_row<3>(
    const std::vector<std::array<std::int32_t, 3>>&, int);

}  // namespace hc::detail
