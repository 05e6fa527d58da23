// Exact Betti numbers of a complex: rank B1 from connected components, rank B2 by fill-free
// pivots and sparse elimination over the prime field GF(2^31 - 1).
#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "hc/hodge.hpp"

namespace hc {
namespace {

// A prime large enough that no realistic complex has p-torsion, so GF(p) rank = rational rank;
// 2^31 - 1 keeps every product of two residues inside 64 bits.
constexpr std::uint32_t kPrime = 2147483647u;

std::uint32_t mul_mod(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(a) * b % kPrime);
}

// a - f*b (mod p), all operands already reduced.
std::uint32_t sub_mul_mod(std::uint32_t a, std::uint32_t f, std::uint32_t b) {
  const std::uint32_t fb = mul_mod(f, b);
  return a >= fb ? a - fb : a + (kPrime - fb);
}

std::uint32_t inverse_mod(std::uint32_t a) {
  // Fermat: a^(p-2) = a^-1 for a != 0.
  std::uint32_t result = 1, base = a;
  for (std::uint32_t e = kPrime - 2; e > 0; e >>= 1) {
    if (e & 1u) result = mul_mod(result, base);
    base = mul_mod(base, base);
  }
  return result;
}

struct Entry {
  int row;
  std::uint32_t value;
};

// Rank over GF(p) of a sparse matrix by Gaussian elimination in Markowitz-like order: always
// pivot in a row of least current degree, on its shortest column. Each pivot clears one row and
// removes one column (+1 to the rank); the rest of its row is eliminated from the other columns
// sharing it. Choosing sparse pivots keeps the fill-in far below a fixed-order reduction's.
class SparseEliminator {
 public:
  // columns[c]: entries sorted by row, values nonzero mod p.
  SparseEliminator(int rows, std::vector<std::vector<Entry>> columns)
      : m_cols(std::move(columns)),
        m_col_alive(m_cols.size(), 1),
        m_row_cols(static_cast<std::size_t>(rows)),
        m_row_degree(static_cast<std::size_t>(rows), 0) {
    for (std::size_t c = 0; c < m_cols.size(); ++c)
      for (const Entry& e : m_cols[c]) {
        m_row_cols[static_cast<std::size_t>(e.row)].push_back(static_cast<int>(c));
        ++m_row_degree[static_cast<std::size_t>(e.row)];
      }
    for (int r = 0; r < rows; ++r) queue_row(r);
  }

  int run() {
    int rank = 0;
    std::size_t d = 1;
    while (d < m_buckets.size()) {
      if (m_buckets[d].empty()) {
        ++d;
        continue;
      }
      const int r = m_buckets[d].back();
      m_buckets[d].pop_back();
      if (m_row_degree[static_cast<std::size_t>(r)] != static_cast<int>(d)) continue;  // stale
      m_lowest = m_buckets.size();
      pivot_on_row(r);
      ++rank;
      d = std::min(d, m_lowest);  // rows whose degree dropped may now be the sparsest
    }
    return rank;
  }

 private:
  static const Entry* find(const std::vector<Entry>& col, int row) {
    auto it = std::lower_bound(col.begin(), col.end(), row,
                               [](const Entry& e, int r) { return e.row < r; });
    return it != col.end() && it->row == row ? &*it : nullptr;
  }

  void queue_row(int r) {
    const auto d = static_cast<std::size_t>(m_row_degree[static_cast<std::size_t>(r)]);
    if (d == 0) return;
    if (d >= m_buckets.size()) m_buckets.resize(d + 1);
    m_buckets[d].push_back(r);
    m_lowest = std::min(m_lowest, d);
  }

  void pivot_on_row(int r) {
    // Live columns through r (the list is lazily pruned of dead or cancelled entries).
    std::vector<int>& list = m_row_cols[static_cast<std::size_t>(r)];
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](int c) {
                                return !m_col_alive[static_cast<std::size_t>(c)] ||
                                       !find(m_cols[static_cast<std::size_t>(c)], r);
                              }),
               list.end());
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    const int p = *std::min_element(list.begin(), list.end(), [&](int a, int b) {
      return m_cols[static_cast<std::size_t>(a)].size() <
             m_cols[static_cast<std::size_t>(b)].size();
    });
    const std::vector<Entry>& pivot = m_cols[static_cast<std::size_t>(p)];
    const std::uint32_t inv = inverse_mod(find(pivot, r)->value);
    m_touched.clear();
    for (int c : list) {
      if (c == p) continue;
      std::vector<Entry>& col = m_cols[static_cast<std::size_t>(c)];
      const std::uint32_t f = mul_mod(find(col, r)->value, inv);
      // col -= f * pivot, merging two row-sorted lists; track degree changes per row.
      m_next.clear();
      auto a = col.begin();
      auto b = pivot.begin();
      while (a != col.end() || b != pivot.end()) {
        if (b == pivot.end() || (a != col.end() && a->row < b->row)) {
          m_next.push_back(*a++);
        } else if (a == col.end() || b->row < a->row) {
          m_next.push_back({b->row, sub_mul_mod(0, f, b->value)});  // fill-in
          m_row_cols[static_cast<std::size_t>(b->row)].push_back(c);
          ++m_row_degree[static_cast<std::size_t>(b->row)];
          m_touched.push_back(b->row);
          ++b;
        } else {
          const std::uint32_t v = sub_mul_mod(a->value, f, b->value);
          if (v != 0) {
            m_next.push_back({a->row, v});
          } else {
            --m_row_degree[static_cast<std::size_t>(a->row)];
            m_touched.push_back(a->row);
          }
          ++a;
          ++b;
        }
      }
      col.swap(m_next);
    }
    for (const Entry& e : pivot) {
      --m_row_degree[static_cast<std::size_t>(e.row)];
      m_touched.push_back(e.row);
    }
    m_col_alive[static_cast<std::size_t>(p)] = 0;
    m_cols[static_cast<std::size_t>(p)] = {};
    list.clear();
    for (int row : m_touched)
      if (row != r) queue_row(row);
  }

  std::vector<std::vector<Entry>> m_cols;
  std::vector<char> m_col_alive;
  std::vector<std::vector<int>> m_row_cols;  // superset of the live columns through each row
  std::vector<int> m_row_degree;             // exact number of nonzeros in each row
  std::vector<std::vector<int>> m_buckets;   // rows by degree; stale entries are skipped
  std::size_t m_lowest = 1;                  // smallest degree queued during a pivot
  std::vector<Entry> m_next;
  std::vector<int> m_touched;
};

// Edge -> indices of the triangles containing it, ascending (CSR).
struct Incidence {
  std::vector<int> start;  // M + 1
  std::vector<int> triangles;

  Incidence(std::size_t m, const std::vector<std::array<int, 3>>& tri) : start(m + 1, 0) {
    for (const auto& t : tri)
      for (int e : t) ++start[static_cast<std::size_t>(e) + 1];
    for (std::size_t e = 0; e < m; ++e) start[e + 1] += start[e];
    triangles.resize(static_cast<std::size_t>(start[m]));
    std::vector<int> cursor(start.begin(), start.end() - 1);
    for (std::size_t t = 0; t < tri.size(); ++t)
      for (int e : tri[t])
        triangles[static_cast<std::size_t>(cursor[static_cast<std::size_t>(e)]++)] =
            static_cast<int>(t);
  }
  int degree(std::size_t e) const { return start[e + 1] - start[e]; }
};

// Marks a spanning forest of the edges that lie on some triangle: breadth-first from the
// best-connected vertex of each component, so the forest is as star-like as the graph allows
// and many triangles get two forest edges.
std::vector<char> spanning_forest(const Complex& cx, const Incidence& inc) {
  const auto n = static_cast<std::size_t>(cx.vertex_count);
  const std::size_t m = cx.edges.size();
  std::vector<int> vstart(n + 1, 0);
  for (std::size_t e = 0; e < m; ++e)
    if (inc.degree(e) > 0) {
      ++vstart[static_cast<std::size_t>(cx.edges[e][0]) + 1];
      ++vstart[static_cast<std::size_t>(cx.edges[e][1]) + 1];
    }
  for (std::size_t v = 0; v < n; ++v) vstart[v + 1] += vstart[v];
  std::vector<int> adjacent(static_cast<std::size_t>(vstart[n]));  // edge ids by vertex
  std::vector<int> cursor(vstart.begin(), vstart.end() - 1);
  for (std::size_t e = 0; e < m; ++e)
    if (inc.degree(e) > 0)
      for (int v : cx.edges[e])
        adjacent[static_cast<std::size_t>(cursor[static_cast<std::size_t>(v)]++)] =
            static_cast<int>(e);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return vstart[a + 1] - vstart[a] > vstart[b + 1] - vstart[b];
  });
  std::vector<char> in_forest(m, 0), seen(n, 0);
  std::vector<int> queue;
  queue.reserve(n);
  for (int root : order) {
    if (seen[static_cast<std::size_t>(root)]) continue;
    seen[static_cast<std::size_t>(root)] = 1;
    queue.assign(1, root);
    for (std::size_t head = 0; head < queue.size(); ++head) {
      const auto v = static_cast<std::size_t>(queue[head]);
      for (int k = vstart[v]; k < vstart[v + 1]; ++k) {
        const auto e = static_cast<std::size_t>(adjacent[static_cast<std::size_t>(k)]);
        const int w = cx.edges[e][0] == static_cast<int>(v) ? cx.edges[e][1] : cx.edges[e][0];
        if (seen[static_cast<std::size_t>(w)]) continue;
        seen[static_cast<std::size_t>(w)] = 1;
        in_forest[e] = 1;
        queue.push_back(w);
      }
    }
  }
  return in_forest;
}

// Rank of B2 given its columns as triangle_edges() rows (signs +1, -1, +1), in three exact
// stages, each preserving the rank:
// 1. B1 B2 = 0 writes the row of every spanning-forest edge as a combination of the other rows,
//    so forest rows are dropped.
// 2. Pivots that cause no fill-in: a row or column with a single live entry is eliminated
//    together with its column or row (+1 to the rank). Rows with one entry are the free faces of
//    an elementary collapse; columns with one entry are triangles left with a single non-forest
//    edge. Sparse fillings vanish here entirely, dense ones mostly.
// 3. Sparse elimination with least-degree pivots on the remaining core, which is empty for
//    sparse fillings and for complete 2-skeletons, and stays small in between.
int rank_b2(const Complex& cx, const std::vector<std::array<int, 3>>& tri) {
  if (tri.empty()) return 0;
  const std::size_t m = cx.edges.size();
  for ([[maybe_unused]] const auto& t : tri)
    assert(t[0] >= 0 && t[1] >= 0 && t[2] >= 0 && "filled triangle with a missing edge");
  const Incidence inc(m, tri);
  const std::vector<char> in_forest = spanning_forest(cx, inc);

  std::vector<char> row_alive(m), col_alive(tri.size(), 1);
  std::vector<int> row_degree(m), col_degree(tri.size(), 0);
  for (std::size_t e = 0; e < m; ++e) {
    row_alive[e] = inc.degree(e) > 0 && !in_forest[e];
    row_degree[e] = row_alive[e] ? inc.degree(e) : 0;
  }
  std::vector<int> singletons;  // >= 0: column t; < 0: row ~e
  for (std::size_t t = 0; t < tri.size(); ++t) {
    for (int e : tri[t]) col_degree[t] += row_alive[static_cast<std::size_t>(e)];
    if (col_degree[t] == 0) col_alive[t] = 0;
    if (col_degree[t] == 1) singletons.push_back(static_cast<int>(t));
  }
  for (std::size_t e = 0; e < m; ++e)
    if (row_alive[e] && row_degree[e] == 1) singletons.push_back(~static_cast<int>(e));

  int rank = 0;
  auto kill_row = [&](std::size_t e) {
    row_alive[e] = 0;
    for (int k = inc.start[e]; k < inc.start[e + 1]; ++k) {
      const auto t = static_cast<std::size_t>(inc.triangles[static_cast<std::size_t>(k)]);
      if (!col_alive[t]) continue;
      if (--col_degree[t] == 0) col_alive[t] = 0;  // now a zero column
      if (col_degree[t] == 1) singletons.push_back(static_cast<int>(t));
    }
  };
  auto kill_col = [&](std::size_t t) {
    col_alive[t] = 0;
    for (int e : tri[t]) {
      const auto r = static_cast<std::size_t>(e);
      if (!row_alive[r]) continue;
      if (--row_degree[r] == 0) row_alive[r] = 0;  // now a zero row
      if (row_degree[r] == 1) singletons.push_back(~e);
    }
  };
  while (!singletons.empty()) {
    const int item = singletons.back();
    singletons.pop_back();
    if (item >= 0) {
      const auto t = static_cast<std::size_t>(item);
      if (!col_alive[t] || col_degree[t] != 1) continue;
      std::size_t r = m;
      for (int e : tri[t])
        if (row_alive[static_cast<std::size_t>(e)]) r = static_cast<std::size_t>(e);
      ++rank;
      col_alive[t] = 0;
      kill_row(r);
    } else {
      const auto r = static_cast<std::size_t>(~item);
      if (!row_alive[r] || row_degree[r] != 1) continue;
      std::size_t t = tri.size();
      for (int k = inc.start[r]; k < inc.start[r + 1]; ++k)
        if (col_alive[static_cast<std::size_t>(inc.triangles[static_cast<std::size_t>(k)])])
          t = static_cast<std::size_t>(inc.triangles[static_cast<std::size_t>(k)]);
      ++rank;
      row_alive[r] = 0;
      kill_col(t);
    }
  }

  std::vector<int> row_id(m, -1);
  int rows = 0, cols = 0;
  for (std::size_t e = 0; e < m; ++e)
    if (row_alive[e]) row_id[e] = rows++;
  for (std::size_t t = 0; t < tri.size(); ++t) cols += col_alive[t];
  if (rows == 0 || cols == 0) return rank;

  constexpr std::uint32_t kSign[3] = {1u, kPrime - 1u, 1u};
  std::vector<std::vector<Entry>> columns;
  columns.reserve(static_cast<std::size_t>(cols));
  for (std::size_t t = 0; t < tri.size(); ++t) {
    if (!col_alive[t]) continue;
    std::vector<Entry> column;
    for (int i = 0; i < 3; ++i) {
      const int r = row_id[static_cast<std::size_t>(tri[t][i])];
      if (r >= 0) column.push_back({r, kSign[i]});
    }
    std::sort(column.begin(), column.end(),
              [](const Entry& x, const Entry& y) { return x.row < y.row; });
    columns.push_back(std::move(column));
  }
  return rank + SparseEliminator(rows, std::move(columns)).run();
}

}  // namespace

int boundary_2_rank(const Complex& complex) {
  return rank_b2(complex, triangle_edges(complex));
}

namespace detail {

std::array<int, 3> betti_numbers(const Complex& complex,
                                 const std::vector<std::array<int, 3>>& triangle_edges) {
  int components = 0;
  component_labels(complex, components);
  const int rank_b1 = complex.vertex_count - components;
  const int rank_2 = rank_b2(complex, triangle_edges);
  return {components, complex.edge_count() - rank_b1 - rank_2, complex.triangle_count() - rank_2};
}

}  // namespace detail

std::array<int, 3> betti_numbers(const Complex& complex) {
  return detail::betti_numbers(complex, triangle_edges(complex));
}

}  // namespace hc
