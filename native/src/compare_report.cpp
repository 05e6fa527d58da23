// compare_report_json / compare_report_markdown: the comparison table in both formats.
#include "hc/native/compare_report.hpp"

#include <cmath>
#include <map>
#include <sstream>

#include "hc/native/cli_common.hpp"

namespace hc::native {
namespace {

nlohmann::json score_or_null(const CompareRow& row, double value) {
  return row.error.empty() && std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

std::string percent(double share) { return strprintf("%.0f%%", 100.0 * share); }

std::string wanda_text(double wanda) { return wanda > 0 ? percent(wanda) : "–"; }

// The distinct ratios in the order they first appear.
std::vector<double> ratios_of(const std::vector<CompareRow>& rows) {
  std::vector<double> ratios;
  for (const auto& row : rows) {
    bool seen = false;
    for (double r : ratios) seen = seen || r == row.ratio;
    if (!seen) ratios.push_back(row.ratio);
  }
  return ratios;
}

}  // namespace

std::optional<std::size_t> best_row(const std::vector<CompareRow>& rows, double ratio,
                                    std::optional<bool> with_wanda) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const CompareRow& row = rows[i];
    if (!row.error.empty() || row.ratio != ratio || !std::isfinite(row.kl)) continue;
    if (with_wanda && (row.wanda > 0) != *with_wanda) continue;
    if (!best || row.kl < rows[*best].kl) best = i;
  }
  return best;
}

nlohmann::json compare_report_json(const CompareReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : report.rows) {
    nlohmann::json j = {
        {"method", row.method},
        {"mode", row.mode},
        {"ratio", row.ratio},
        {"keep", row.keep},
        {"wanda", row.wanda},
        {"plan", row.plan},
        {"checkpoint", row.checkpoint.empty() ? nlohmann::json() : nlohmann::json(row.checkpoint)},
        {"retained",
         {{"gradient", row.retained.gradient},
          {"curl", row.retained.curl},
          {"harmonic", row.retained.harmonic},
          {"triangle", row.retained.triangle}}},
        {"perplexity", score_or_null(row, row.perplexity)},
        {"nll", score_or_null(row, row.nll)},
        {"kl", score_or_null(row, row.kl)},
        {"top1_agreement", score_or_null(row, row.top1_agreement)},
        {"parameters", row.error.empty() ? nlohmann::json(row.parameters) : nlohmann::json()},
        {"nonzero_parameters",
         row.error.empty() ? nlohmann::json(row.nonzero_parameters) : nlohmann::json()},
        {"parameters_kept",
         row.error.empty() && report.reference_parameters > 0
             ? nlohmann::json(double(row.nonzero_parameters) / double(report.reference_parameters))
             : nlohmann::json()},
        {"seconds", row.seconds},
    };
    if (!row.error.empty()) j["error"] = row.error;
    rows.push_back(std::move(j));
  }
  return {{"format", "hodgecover.compare"},
          {"version", 1},
          {"model", report.model},
          {"stats", report.stats},
          {"data", report.data},
          {"tokens", report.tokens},
          {"sequences", report.sequences},
          {"seq_len", report.seq_len},
          {"device", report.device},
          {"complex", report.complex},
          {"checkpoints", report.checkpoints},
          {"reference",
           {{"perplexity", report.reference_perplexity},
            {"nll", report.reference_nll},
            {"parameters", report.reference_parameters}}},
          {"rows", rows}};
}

std::string compare_report_markdown(const CompareReport& report) {
  std::ostringstream md;
  md << "# HodgeCover comparison\n\n";
  md << "- model: `" << report.model << "` ("
     << strprintf("%.2fM parameters, held-out perplexity %.4f",
                  double(report.reference_parameters) / 1e6, report.reference_perplexity)
     << ")\n";
  md << "- statistics: `" << report.stats << "`; complex: " << report.complex << "\n";
  md << "- held-out data: " << report.data << "; "
     << strprintf("%zu predicted tokens in %zu sequences of up to %zu", report.tokens,
                  report.sequences, report.seq_len)
     << "; device " << report.device << "\n\n";
  md << "KL: mean KL(p_original ‖ p_compressed) per predicted token (nats). top-1: share of "
        "positions whose most likely next token is unchanged. gradient/curl/harmonic/triangle: "
        "share of each Hodge mass covered by the kept experts (mean over layers). params: share "
        "of the original parameters that are stored and non-zero.\n";

  for (double ratio : ratios_of(report.rows)) {
    int keep = 0;
    for (const auto& row : report.rows) keep = row.ratio == ratio ? row.keep : keep;
    md << "\n## " << percent(ratio) << " of experts removed (keep " << keep << " per layer)\n\n";
    md << "| method | mode | Wanda | perplexity | KL | top-1 | gradient | curl | harmonic | "
          "triangle | params |\n";
    md << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    const auto best = best_row(report.rows, ratio);
    for (std::size_t i = 0; i < report.rows.size(); ++i) {
      const CompareRow& row = report.rows[i];
      if (row.ratio != ratio) continue;
      const std::string name = (best && *best == i) ? "**" + row.method + "**" : row.method;
      md << "| " << name << " | " << row.mode << " | " << wanda_text(row.wanda) << " | ";
      if (!row.error.empty()) {
        md << "not run: " << row.error << " | | | ";
      } else {
        md << strprintf("%.4f | %.5f | %.1f%% | ", row.perplexity, row.kl,
                        100.0 * row.top1_agreement);
      }
      md << strprintf("%.3f | %.3f | %.3f | %.3f | ", row.retained.gradient, row.retained.curl,
                      row.retained.harmonic, row.retained.triangle);
      md << (row.error.empty() && report.reference_parameters > 0
                 ? percent(double(row.nonzero_parameters) / double(report.reference_parameters))
                 : std::string())
         << " |\n";
    }
  }

  md << "\n## Lowest KL per ratio\n\n| removed | without Wanda | with Wanda |\n|---|---|---|\n";
  for (double ratio : ratios_of(report.rows)) {
    auto cell = [&](bool wanda) -> std::string {
      const auto best = best_row(report.rows, ratio, wanda);
      if (!best) return "–";
      const CompareRow& row = report.rows[*best];
      return strprintf("%s (KL %.5f, perplexity %.4f)", row.method.c_str(), row.kl, row.perplexity);
    };
    md << "| " << percent(ratio) << " | " << cell(false) << " | " << cell(true) << " |\n";
  }
  md << "\nKept checkpoints: " << report.checkpoints << ".\n";
  return md.str();
}

}  // namespace hc::native
