// Gate-correction effects of a comparison: each corrected row paired with the same plan
// uncorrected, and with the fixed output scale chosen on the selection text.
#include <cmath>

#include "hc/native/compare_report.hpp"
#include "hc/native/text.hpp"

namespace hc::native {
namespace {

bool corrected(const CompareRow& row) {
  return !row.gate_correction.empty() && row.gate_correction != "off";
}

// Same plan applied the same way: method, mode, ratio, Wanda and kept experts.
bool same_plan(const CompareRow& a, const CompareRow& b) {
  return a.method == b.method && a.mode == b.mode && a.ratio == b.ratio && a.wanda == b.wanda &&
         a.kept == b.kept;
}

std::optional<hc::Interval> paired(const CompareReport& report, const CompareRow& a,
                                   const CompareRow& b) {
  const std::size_t n = report.sequence_tokens.size();
  if (a.sequence_kl.size() != n || b.sequence_kl.size() != n) return std::nullopt;
  auto d = hc::bootstrap_paired_difference(a.sequence_kl, b.sequence_kl, report.sequence_tokens);
  if (!d.ok()) return std::nullopt;
  return *d;
}

}  // namespace

void annotate_gate_effects(CompareReport& report) {
  report.gate_effects.clear();
  const auto& rows = report.rows;
  for (const CompareRow& row : rows) {
    if (!ran(row) || !corrected(row) || row.output_scale != 1.0) continue;
    const CompareRow* off = nullptr;
    const CompareRow* scaled = nullptr;
    for (const CompareRow& other : rows) {
      if (!ran(other) || corrected(other) || !same_plan(row, other)) continue;
      if (other.output_scale == 1.0) {
        if (off == nullptr) off = &other;
      } else if (std::isfinite(other.select_kl) &&
                 (scaled == nullptr || other.select_kl < scaled->select_kl)) {
        scaled = &other;
      }
    }
    if (off == nullptr) continue;
    GateEffect e;
    e.ratio = row.ratio;
    e.wanda = row.wanda;
    e.variant = row.variant;
    e.method = row.method;
    e.gate = row.gate_correction;
    e.baseline = off->variant;
    e.kl = row.kl;
    e.kl_off = off->kl;
    e.vs_off = paired(report, row, *off);
    if (scaled != nullptr) {
      e.scaled = scaled->variant;
      e.scale = scaled->output_scale;
      e.kl_scaled = scaled->kl;
      e.vs_scaled = paired(report, row, *scaled);
    }
    report.gate_effects.push_back(std::move(e));
  }
}

nlohmann::json gate_effects_json(const CompareReport& report) {
  nlohmann::json out = nlohmann::json::array();
  for (const GateEffect& e : report.gate_effects) {
    nlohmann::json j = {{"ratio", e.ratio},
                        {"wanda", e.wanda},
                        {"variant", e.variant},
                        {"method", e.method},
                        {"gate_correction", e.gate},
                        {"baseline", e.baseline},
                        {"kl", e.kl},
                        {"kl_uncorrected", e.kl_off},
                        {"kl_minus_uncorrected", interval_json(e.vs_off)}};
    if (!e.scaled.empty()) {
      j["scaled"] = e.scaled;
      j["output_scale"] = e.scale;
      j["kl_scaled"] = e.kl_scaled;
      j["kl_minus_scaled"] = interval_json(e.vs_scaled);
    }
    out.push_back(std::move(j));
  }
  return out;
}

void markdown_gate_effects(std::ostream& md, const CompareReport& report) {
  if (report.gate_effects.empty()) return;
  bool any_scaled = false;
  for (const GateEffect& e : report.gate_effects) any_scaled = any_scaled || !e.scaled.empty();
  md << "\n## Gate correction\n\nThe same plan with apply's gate correction and without it "
        "(paired 95% interval of the KL difference over held-out sequences; negative: the "
        "correction lowers KL)"
     << (any_scaled ? ", and against the fixed output scale chosen on the selection text" : "")
     << ".\n\n| removed | Wanda | variant | correction | KL | uncorrected | change | Δ [95% CI] |"
     << (any_scaled ? " fixed scale | its KL | Δ vs scale [95% CI] |" : "") << "\n"
     << "|---|---|---|---|---:|---:|---:|---:|" << (any_scaled ? "---:|---:|---:|" : "") << "\n";
  for (const GateEffect& e : report.gate_effects) {
    md << "| " << strprintf("%.1f%%", 100.0 * e.ratio) << " | "
       << (e.wanda > 0 ? strprintf("%.0f%%", 100.0 * e.wanda) : "–") << " | " << e.variant << " | "
       << e.gate << " | " << strprintf("%.5f | %.5f | ", e.kl, e.kl_off)
       << (e.kl_off > 0 ? strprintf("%+.1f%%", 100.0 * (e.kl - e.kl_off) / e.kl_off) : "") << " | "
       << interval_text(e.vs_off, "%+.5f") << " |";
    if (any_scaled) {
      if (e.scaled.empty()) {
        md << " | | |";
      } else {
        md << strprintf(" %g | %.5f | ", e.scale, e.kl_scaled)
           << interval_text(e.vs_scaled, "%+.5f") << " |";
      }
    }
    md << "\n";
  }
}

}  // namespace hc::native
