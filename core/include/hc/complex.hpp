// Per-layer simplicial 2-complex built from a layer's statistics (docs/METHOD.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "hc/result.hpp"
#include "hc/stats_file.hpp"

namespace hc {

// Vertex order that orients edges (low -> high): by index, or by ascending frequency or REAP.
enum class Orientation { Index, Frequency, Reap };
enum class EdgeMode { Complete, Threshold };  // keep every pair, or only pairs with b_ij <= tau
enum class FillRule { Tau, Sum };             // fill when t_ijk <= tau, or t_ijk <= b_ij+b_ik+b_jk
// The edge signal f: the symmetric merge barrier b_ij, or the antisymmetric substitution flow
// f = d(tail -> head) - d(head -> tail) (format 1.3 files), which needs no orientation choice:
// reorienting an edge flips the sign of f and of its parts, never their energies.
enum class EdgeSignal { Barrier, SubstitutionFlow };

struct ComplexOptions {
  double tau_quantile = 0.75;  // used when tau is not set
  std::optional<double> tau;   // absolute threshold
  // REAP: edges point from the less to the more salient expert, so the decomposition (and the
  // default selection) does not depend on expert numbering. Index reproduces the first reading.
  Orientation orientation = Orientation::Reap;
  EdgeMode edges = EdgeMode::Complete;
  FillRule fill = FillRule::Tau;
  // τ, the edge threshold and the fill rules always read the barriers; only f changes.
  EdgeSignal signal = EdgeSignal::Barrier;
};

// Parsers for the option strings used by the CLI and the dashboard ("index", "frequency", ...).
Result<Orientation> parse_orientation(const std::string& s);
const char* orientation_name(Orientation o);
Result<EdgeMode> parse_edge_mode(const std::string& s);
Result<FillRule> parse_fill_rule(const std::string& s);
Result<EdgeSignal> parse_edge_signal(const std::string& s);  // "barrier", "flow"
const char* edge_signal_name(EdgeSignal s);
// "tau = 0.75 quantile, complete edges, fill tau, reap order" for report headers.
std::string describe_complex(const ComplexOptions& options);

// The complex of one layer. Vertices are experts 0..E-1. Edges keep their file order (those
// dropped by EdgeMode::Threshold are omitted); each edge is stored oriented tail -> head with
// rank(tail) < rank(head) under the chosen orientation. Triangles store vertices in ascending
// rank, so the boundary of [a,b,c] is (b,c) - (a,c) + (a,b).
struct Complex {
  int vertex_count = 0;
  double tau = 0.0;                        // threshold actually used
  std::vector<std::array<int, 2>> edges;   // oriented (tail, head), M entries
  std::vector<int> edge_source;            // index of each edge in the layer's edge list
  Eigen::VectorXd signal;                  // f: M, f_e = b_ij
  std::vector<std::array<int, 3>> filled;  // filled triangles, T entries, rank order
  std::vector<double> filled_barrier;      // triplet barrier of each filled triangle
  std::vector<int> filled_source;          // its index in the layer's candidate triangles
  std::vector<std::array<int, 3>> holes;   // candidates that did not fill (three edges present)
  std::vector<double> hole_barrier;
  std::vector<int> rank;  // rank[v]: position of v in the orientation order

  int edge_count() const { return static_cast<int>(edges.size()); }
  int triangle_count() const { return static_cast<int>(filled.size()); }
};

// Quantile q in [0,1] of values (linear interpolation between order statistics, like numpy's
// default). Empty input returns 0.
double quantile(std::vector<double> values, double q);

// Builds the complex. InvalidArgument for a bad quantile/tau, or the flow signal on a layer
// without substitution barriers; Corrupt if the layer is invalid.
Result<Complex> build_complex(const LayerStats& layer, const ComplexOptions& options);

// For each filled triangle [a,b,c], the indices in `edges` of (b,c), (a,c) and (a,b): the rows
// of its B2 column, whose signs are +1, -1, +1. T entries; -1 marks a missing edge, which
// build_complex never produces.
std::vector<std::array<int, 3>> triangle_edges(const Complex& complex);

// B1: E x M; column e=(tail,head) has -1 at tail, +1 at head.
Eigen::SparseMatrix<double> boundary_1(const Complex& complex);
// B2: M x T; column [a,b,c] has +1 at (b,c), -1 at (a,c), +1 at (a,b) (edges as oriented in the
// complex; a triangle's edges always exist).
Eigen::SparseMatrix<double> boundary_2(const Complex& complex);

}  // namespace hc
