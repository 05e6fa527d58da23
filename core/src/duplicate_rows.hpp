// Internal to stats_file.cpp and complex.cpp: finds a repeated edge or triangle among a layer's
// rows, the check both the statistics reader and the complex builder make on every layer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace hc::detail {

// Index of a row equal, as a set of vertices, to an earlier row; nothing when all rows differ.
// Every value must lie in [0, vertices). Linear time with a bitmap of vertices^W bits when that
// is at most 2^24 bits (2 MiB; up to 4096 vertices for pairs, 256 for triples), else a sort.
template <std::size_t W>
std::optional<std::size_t> find_duplicate_row(const std::vector<std::array<std::int32_t, W>>& rows,
                                              int vertices);

extern template std::optional<std::size_t> find_duplicate_row<2>(
    const std::vector<std::array<std::int32_t, 2>>&, int);
extern template std::optional<std::size_t> find_duplicate_row<3>(
    const std::vector<std::array<std::int32_t, 3>>&, int);

}  // namespace hc::detail
