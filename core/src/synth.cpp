// Synthetic statistics files with planted structure: clusters of mutually mergeable experts
// (low pair barriers, jointly mergeable triples) and planted irreducible triples (three experts
// from different clusters with low pair barriers but a high triplet barrier).
#include "hc/synth.hpp"

#include "hc/complex.hpp"  // quantile: the same tau rule the complex uses

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <string>

namespace hc {

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

std::uint64_t SplitMix64::below(std::uint64_t n) {
  // Rejection sampling keeps the draw unbiased and identical on every platform.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  std::uint64_t x = next();
  while (x >= limit) x = next();
  return x % n;
}

namespace {

// Standard normal from two uniforms (Box-Muller); std::normal_distribution differs by platform.
double gaussian(SplitMix64& rng) {
  const double u1 = std::max(rng.uniform(), 1e-300);
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

template <typename T>
void shuffle(std::vector<T>& v, SplitMix64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// Upper-triangular pair index for i<j in the complete graph on E vertices (lexicographic).
std::size_t pair_index(int i, int j, int experts) {
  const std::size_t a = static_cast<std::size_t>(i), b = static_cast<std::size_t>(j);
  return a * (2 * static_cast<std::size_t>(experts) - a - 1) / 2 + (b - a - 1);
}

struct Candidate {
  float max_pair;
  std::array<std::int32_t, 3> t;
};

LayerStats synth_layer(int layer_index, const SynthOptions& o,
                       std::vector<PlantedTriple>& planted) {
  const int E = o.experts;
  SplitMix64 rng(o.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(layer_index) * 7919 +
                 1);
  LayerStats layer;
  layer.layer = layer_index;
  layer.experts = E;

  // Clusters: a random permutation cut into runs of cluster_size-1 .. cluster_size+1 experts.
  std::vector<int> order(E);
  std::iota(order.begin(), order.end(), 0);
  shuffle(order, rng);
  std::vector<int> cluster(E, 0);
  int cluster_count = 0;
  for (int pos = 0; pos < E; ++cluster_count) {
    const int spread = std::max(1, o.cluster_size - 1);
    int size = spread + static_cast<int>(rng.below(3));
    size = std::min(size, E - pos);
    for (int k = 0; k < size; ++k) cluster[order[pos + k]] = cluster_count;
    pos += size;
  }

  // Pair barriers: low inside a cluster, high across clusters.
  const std::size_t M = static_cast<std::size_t>(E) * (E - 1) / 2;
  layer.edges.reserve(M);
  layer.edge_barrier.reserve(M);
  for (int i = 0; i < E; ++i)
    for (int j = i + 1; j < E; ++j) {
      const bool same = cluster[i] == cluster[j];
      const double b = same ? 0.03 + 0.12 * rng.uniform() : 0.6 + 0.8 * rng.uniform();
      layer.edges.push_back({i, j});
      layer.edge_barrier.push_back(static_cast<float>(b));
    }

  // Planted irreducible triples: disjoint, each from three different clusters, pair barriers
  // lowered to the mergeable range.
  int wanted = o.planted_triples >= 0 ? o.planted_triples : std::max(1, E / 16);
  std::vector<char> used(E, 0);
  std::vector<std::array<int, 3>> triples;
  for (int attempt = 0;
       attempt < 64 * std::max(wanted, 1) && static_cast<int>(triples.size()) < wanted; ++attempt) {
    std::array<int, 3> t{static_cast<int>(rng.below(E)), static_cast<int>(rng.below(E)),
                         static_cast<int>(rng.below(E))};
    if (used[t[0]] || used[t[1]] || used[t[2]]) continue;
    if (cluster[t[0]] == cluster[t[1]] || cluster[t[0]] == cluster[t[2]] ||
        cluster[t[1]] == cluster[t[2]])
      continue;
    std::sort(t.begin(), t.end());
    for (int v : t) used[v] = 1;
    triples.push_back(t);
    const int pairs[3][2] = {{t[0], t[1]}, {t[0], t[2]}, {t[1], t[2]}};
    for (const auto& p : pairs)
      layer.edge_barrier[pair_index(p[0], p[1], E)] =
          static_cast<float>(0.05 + 0.1 * rng.uniform());
  }

  // Stage 1 (as extraction does it): triples whose three pair barriers are all <= tau, ranked by
  // their largest pair barrier, at most max_triangles.
  const std::vector<double> barriers(layer.edge_barrier.begin(), layer.edge_barrier.end());
  const float tau = static_cast<float>(quantile(barriers, 0.75));
  const float max_barrier = *std::max_element(layer.edge_barrier.begin(), layer.edge_barrier.end());

  std::vector<Candidate> candidates;
  for (int i = 0; i < E; ++i)
    for (int j = i + 1; j < E; ++j) {
      const float bij = layer.edge_barrier[pair_index(i, j, E)];
      if (bij > tau) continue;
      for (int k = j + 1; k < E; ++k) {
        const float bik = layer.edge_barrier[pair_index(i, k, E)];
        const float bjk = layer.edge_barrier[pair_index(j, k, E)];
        if (bik > tau || bjk > tau) continue;
        candidates.push_back({std::max(bij, std::max(bik, bjk)), {i, j, k}});
      }
    }
  const auto by_rank = [](const Candidate& a, const Candidate& b) {
    return a.max_pair != b.max_pair ? a.max_pair < b.max_pair : a.t < b.t;
  };
  const std::size_t cap = static_cast<std::size_t>(std::max(0, o.max_triangles));
  if (candidates.size() > cap) {
    std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(cap),
                     candidates.end(), by_rank);
    candidates.resize(cap);
  }
  std::sort(candidates.begin(), candidates.end(), by_rank);

  // Stage 2: triplet barriers. Ordinary triples are about as hard as their hardest pair;
  // planted triples are far harder than any pair.
  for (const Candidate& c : candidates) {
    const std::array<int, 3> t{c.t[0], c.t[1], c.t[2]};
    const bool is_planted = std::find(triples.begin(), triples.end(), t) != triples.end();
    const double value = is_planted ? max_barrier * (3.0 + rng.uniform())
                                    : c.max_pair * (1.0 + 0.03 * rng.uniform());
    layer.triangles.push_back(c.t);
    layer.triangle_barrier.push_back(static_cast<float>(value));
  }
  for (const auto& t : triples) {
    const bool kept = std::any_of(candidates.begin(), candidates.end(), [&](const Candidate& c) {
      return c.t[0] == t[0] && c.t[1] == t[1] && c.t[2] == t[2];
    });
    if (kept) planted.push_back({layer_index, t});
  }

  // Routing statistics: log-normal popularity; frequencies sum to top_k, gate mass to 1.
  std::vector<double> popularity(E);
  for (double& p : popularity) p = std::exp(0.6 * gaussian(rng));
  const double total = std::accumulate(popularity.begin(), popularity.end(), 0.0);
  for (int e = 0; e < E; ++e) {
    const double share = popularity[e] / total;
    const double norm = 0.5 + rng.uniform();  // typical output norm of the expert
    layer.frequency.push_back(static_cast<float>(std::min(1.0, share * o.top_k)));
    layer.gate_mass.push_back(static_cast<float>(share));
    layer.reap.push_back(static_cast<float>(norm * (0.5 + 0.5 * rng.uniform()) / o.top_k));
    layer.ean.push_back(static_cast<float>(std::min(1.0, share * o.top_k) * norm));
  }
  if (o.hidden_size > 0) {
    layer.input_sqnorm_cols = static_cast<std::size_t>(o.hidden_size);
    for (int e = 0; e < E; ++e)
      for (int h = 0; h < o.hidden_size; ++h) {
        const double z = gaussian(rng);
        layer.input_sqnorm.push_back(static_cast<float>(layer.frequency[e] * (z * z + 0.01)));
      }
  }
  if (o.inner_size > 0) {
    layer.inner_sqnorm_cols = static_cast<std::size_t>(o.inner_size);
    for (int e = 0; e < E; ++e)
      for (int h = 0; h < o.inner_size; ++h) {
        const double z = gaussian(rng);
        layer.inner_sqnorm.push_back(static_cast<float>(layer.frequency[e] * (z * z + 0.01)));
      }
  }
  return layer;
}

}  // namespace

Result<SynthResult> synthesize(const SynthOptions& o) {
  if (o.layers < 1 || o.layers > 4096)
    return make_error(ErrorCode::InvalidArgument, "synth: --layers must be in 1..4096");
  if (o.experts < 3 || o.experts > 1024)
    return make_error(ErrorCode::InvalidArgument, "synth: --experts must be in 3..1024");
  if (o.top_k < 1 || o.top_k > o.experts)
    return make_error(ErrorCode::InvalidArgument, "synth: --top-k must be in 1..experts");
  if (o.max_triangles < 0)
    return make_error(ErrorCode::InvalidArgument, "synth: --max-triangles must be >= 0");
  if (o.cluster_size < 2)
    return make_error(ErrorCode::InvalidArgument, "synth: cluster size must be >= 2");
  if (o.hidden_size < 0 || o.inner_size < 0 || o.hidden_size > 65536 || o.inner_size > 65536)
    return make_error(ErrorCode::InvalidArgument, "synth: --hidden/--inner must be in 0..65536");

  SynthResult result;
  StatsFile& s = result.stats;
  s.model = "synthetic-L" + std::to_string(o.layers) + "-E" + std::to_string(o.experts) + "-seed" +
            std::to_string(o.seed);
  s.family = "synthetic";
  s.num_experts = o.experts;
  s.top_k = o.top_k;
  s.hidden_size = o.hidden_size;
  s.moe_intermediate_size = o.inner_size;
  s.tokens = 0;
  s.barrier = "synthetic";
  s.metadata["calibration"] =
      "synthetic: planted clusters of mergeable experts and irreducible triples, seed " +
      std::to_string(o.seed);
  for (int l = 0; l < o.layers; ++l) s.layers.push_back(synth_layer(l, o, result.planted));

  std::string planted;
  for (const PlantedTriple& p : result.planted) {
    if (!planted.empty()) planted += ';';
    planted += std::to_string(p.layer) + ':' + std::to_string(p.experts[0]) + '-' +
               std::to_string(p.experts[1]) + '-' + std::to_string(p.experts[2]);
  }
  s.metadata["synth_planted"] = planted;
  return result;
}

std::vector<PlantedTriple> planted_from_metadata(const StatsFile& stats) {
  std::vector<PlantedTriple> out;
  const auto it = stats.metadata.find("synth_planted");
  if (it == stats.metadata.end()) return out;
  std::stringstream ss(it->second);
  std::string item;
  while (std::getline(ss, item, ';')) {
    PlantedTriple p{};
    if (std::sscanf(item.c_str(), "%d:%d-%d-%d", &p.layer, &p.experts[0], &p.experts[1],
                    &p.experts[2]) != 4)
      return {};
    out.push_back(p);
  }
  return out;
}

}  // namespace hc
