// The frequency-weighted merge operator shared by extraction and apply.
#include "hc/merge.hpp"

#include <cassert>

namespace hc {

std::vector<double> merge_coefficients(std::span<const double> frequencies) {
  double total = 0.0;
  for (double f : frequencies) total += f;
  std::vector<double> pi(frequencies.size());
  for (std::size_t m = 0; m < frequencies.size(); ++m) {
    pi[m] = total > 0.0 ? frequencies[m] / total : 1.0 / double(frequencies.size());
  }
  return pi;
}

std::vector<int> merge_group(const LayerPlan& plan, int survivor) {
  std::vector<int> members = {survivor};
  for (const auto& [dropped, into] : plan.merge_into) {
    if (into == survivor) members.push_back(dropped);
  }
  return members;
}

void merge_accumulate(std::span<double> acc, std::span<const float> member, double coefficient) {
  assert(member.size() == acc.size());
  for (std::size_t j = 0; j < acc.size(); ++j) acc[j] += coefficient * member[j];
}

std::vector<double> merge_rows(std::span<const std::span<const float>> rows,
                               std::span<const double> coefficients) {
  assert(rows.size() == coefficients.size());
  std::vector<double> out(rows.empty() ? 0 : rows.front().size(), 0.0);
  for (std::size_t m = 0; m < rows.size(); ++m) merge_accumulate(out, rows[m], coefficients[m]);
  return out;
}

}  // namespace hc
