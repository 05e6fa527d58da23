// Selection on the directed substitution barriers d(i -> j) (LayerStats::substitution, format
// 1.3; docs/METHOD.md §6): facility location (`substitute`) and HodgeRank (`hodgerank`).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "hc/selection.hpp"

namespace hc {
namespace {

// The two smallest d(i, k) over kept k != i, and the argmin of the first.
struct Nearest {
  double first = std::numeric_limits<double>::infinity();
  double second = std::numeric_limits<double>::infinity();
  int at = -1;
};

class Facilities {
 public:
  explicit Facilities(const LayerStats& layer) : m_n(layer.experts), m_d(layer.substitution) {}

  double d(int i, int j) const {
    return m_d[static_cast<std::size_t>(i) * static_cast<std::size_t>(m_n) +
               static_cast<std::size_t>(j)];
  }

  std::vector<Nearest> nearest(const std::vector<char>& kept) const {
    std::vector<Nearest> out(static_cast<std::size_t>(m_n));
    for (int i = 0; i < m_n; ++i)
      for (int k = 0; k < m_n; ++k) {
        if (!kept[static_cast<std::size_t>(k)] || k == i) continue;
        Nearest& n = out[static_cast<std::size_t>(i)];
        const double v = d(i, k);
        if (v < n.first) {
          n.second = n.first;
          n.first = v;
          n.at = k;
        } else if (v < n.second) {
          n.second = v;
        }
      }
    return out;
  }

  double cost(const std::vector<char>& kept, const std::vector<Nearest>& near) const {
    double total = 0.0;
    for (int i = 0; i < m_n; ++i)
      if (!kept[static_cast<std::size_t>(i)]) total += near[static_cast<std::size_t>(i)].first;
    return total;
  }

  int size() const { return m_n; }

 private:
  int m_n;
  const std::vector<float>& m_d;
};

// Layers with at most this many candidate keep sets are searched exhaustively.
constexpr double kExhaustiveSubsets = 200000;

// C(n, k), saturating at `limit`.
double choose(int n, int k, double limit) {
  double c = 1.0;
  for (int i = 1; i <= k; ++i) {
    c = c * (n - k + i) / i;
    if (c > limit) return limit + 1;
  }
  return c;
}

// Every subset of `keep` experts, in lexicographic order (the first optimum wins ties).
std::vector<char> exhaustive(const Facilities& f, int keep) {
  const int n = f.size();
  std::vector<int> pick(static_cast<std::size_t>(keep));
  std::iota(pick.begin(), pick.end(), 0);
  std::vector<char> kept(static_cast<std::size_t>(n), 0), best;
  double best_cost = std::numeric_limits<double>::infinity();
  while (true) {
    std::fill(kept.begin(), kept.end(), 0);
    for (int p : pick) kept[static_cast<std::size_t>(p)] = 1;
    double total = 0.0;
    for (int i = 0; i < n && total < best_cost; ++i) {
      if (kept[static_cast<std::size_t>(i)]) continue;
      double c = std::numeric_limits<double>::infinity();
      for (int p : pick) c = std::min(c, f.d(i, p));
      total += c;
    }
    if (total < best_cost) {
      best_cost = total;
      best = kept;
    }
    int i = keep - 1;
    while (i >= 0 && pick[static_cast<std::size_t>(i)] == n - keep + i) --i;
    if (i < 0) break;
    ++pick[static_cast<std::size_t>(i)];
    for (int j = i + 1; j < keep; ++j)
      pick[static_cast<std::size_t>(j)] = pick[static_cast<std::size_t>(j - 1)] + 1;
  }
  return best;
}

std::vector<char> local_search(const Facilities& f, int keep) {
  const int n = f.size();
  std::vector<char> kept(static_cast<std::size_t>(n), 0);

  // Greedy, then exchanges. Greedy: every expert starts at the largest substitution cost of the
  // layer (as if only its worst substitute were kept), and each step keeps the expert that lowers
  // the total most (its own cost, plus what it saves the others as their substitute). Ties: lower
  // index.
  double ceiling = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) ceiling = std::max(ceiling, f.d(i, j));
  std::vector<double> cost(static_cast<std::size_t>(n), ceiling);
  for (int step = 0; step < keep; ++step) {
    int best = -1;
    double best_gain = -1.0;
    for (int j = 0; j < n; ++j) {
      if (kept[static_cast<std::size_t>(j)]) continue;
      double gain = cost[static_cast<std::size_t>(j)];
      for (int i = 0; i < n; ++i)
        if (!kept[static_cast<std::size_t>(i)] && i != j)
          gain += std::max(0.0, cost[static_cast<std::size_t>(i)] - f.d(i, j));
      if (gain > best_gain) {
        best_gain = gain;
        best = j;
      }
    }
    kept[static_cast<std::size_t>(best)] = 1;
    for (int i = 0; i < n; ++i)
      cost[static_cast<std::size_t>(i)] = std::min(cost[static_cast<std::size_t>(i)], f.d(i, best));
  }

  // Swap refinement to a local optimum: the best single exchange of a kept and a dropped expert
  // per pass, while it lowers the cost by more than rounding.
  std::vector<Nearest> near = f.nearest(kept);
  double total = f.cost(kept, near);
  for (int pass = 0; pass < 8 * n; ++pass) {
    double best_total = total;
    int out_s = -1, in_j = -1;
    for (int s = 0; s < n; ++s) {
      if (!kept[static_cast<std::size_t>(s)]) continue;
      for (int j = 0; j < n; ++j) {
        if (kept[static_cast<std::size_t>(j)]) continue;
        double t = 0.0;
        for (int i = 0; i < n; ++i) {
          if (i == j || (kept[static_cast<std::size_t>(i)] && i != s)) continue;
          const Nearest& ni = near[static_cast<std::size_t>(i)];
          const double other = ni.at == s ? ni.second : ni.first;
          t += std::min(other, f.d(i, j));
        }
        if (t < best_total - 1e-12 * std::max(1.0, total)) {
          best_total = t;
          out_s = s;
          in_j = j;
        }
      }
    }
    if (out_s < 0) break;
    kept[static_cast<std::size_t>(out_s)] = 0;
    kept[static_cast<std::size_t>(in_j)] = 1;
    near = f.nearest(kept);
    total = f.cost(kept, near);
  }
  return kept;
}

}  // namespace

SubstitutePlan substitute_selection(const LayerStats& layer, int keep, SubstituteSearch search) {
  const Facilities f(layer);
  const int n = f.size();
  SubstitutePlan out;
  keep = std::clamp(keep, 0, n);
  std::vector<char> kept(static_cast<std::size_t>(n), 0);
  if (keep == 0 || n == 0) return out;
  if (search == SubstituteSearch::Auto &&
      choose(n, keep, kExhaustiveSubsets) <= kExhaustiveSubsets) {
    kept = exhaustive(f, keep);
    out.exact = true;
  } else {
    kept = local_search(f, keep);
  }
  const std::vector<Nearest> near = f.nearest(kept);
  for (int i = 0; i < n; ++i) {
    if (kept[static_cast<std::size_t>(i)]) {
      out.keep.push_back(i);
    } else {
      out.substitute[i] = near[static_cast<std::size_t>(i)].at;
    }
  }
  out.cost = f.cost(kept, near);
  return out;
}

SubstitutionFlow substitution_flow(const LayerStats& layer) {
  const Facilities f(layer);
  const int n = f.size();
  SubstitutionFlow out;
  out.hardness.assign(static_cast<std::size_t>(n), 0.0);
  if (n == 0) return out;
  // On the complete graph the least-squares potential of the antisymmetric flow F_ij =
  // d(i -> j) - d(j -> i) is its row mean (HodgeRank): h_i - h_j is the gradient part.
  for (int i = 0; i < n; ++i) {
    double sum = 0.0;
    for (int j = 0; j < n; ++j) sum += f.d(i, j) - f.d(j, i);
    out.hardness[static_cast<std::size_t>(i)] = sum / n;
  }
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      const double flow = f.d(i, j) - f.d(j, i);
      const double grad =
          out.hardness[static_cast<std::size_t>(i)] - out.hardness[static_cast<std::size_t>(j)];
      out.energy += flow * flow;
      out.gradient_energy += grad * grad;
    }
  return out;
}

}  // namespace hc
