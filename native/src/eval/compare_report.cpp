// compare_report_json / compare_report_markdown: the comparison table in both formats.
#include "hc/native/compare_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "hc/native/compare_figures.hpp"
#include "hc/native/text.hpp"

namespace hc::native {
namespace {

nlohmann::json score_or_null(const CompareRow& row, double value) {
  return row.error.empty() && std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

std::string percent(double share) {
  return strprintf("%.0f%%", 100.0 * share);
}

std::string wanda_text(double wanda) {
  return wanda > 0 ? percent(wanda) : "–";
}

// Ranks 1..n with ties sharing their mean rank.
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * double(i + j) + 1.0;
    i = j + 1;
  }
  return r;
}

// Spearman's rho (Pearson on ranks); 0 when either side is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double n = double(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += rx[i] / n;
    my += ry[i] / n;
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

nlohmann::json kept_json(const CompareRow& row) {
  if (row.kept.empty()) return nlohmann::json();
  nlohmann::json kept = nlohmann::json::object();
  for (const auto& [layer, experts] : row.kept) kept[std::to_string(layer)] = experts;
  return kept;
}

}  // namespace

bool ran(const CompareRow& row) {
  return row.error.empty() && std::isfinite(row.kl);
}

nlohmann::json interval_json(const std::optional<hc::Interval>& i) {
  if (!i) return nlohmann::json();
  return {{"estimate", i->estimate}, {"low", i->low}, {"high", i->high}};
}

std::string interval_text(const std::optional<hc::Interval>& i, const char* format) {
  if (!i) return "";
  return strprintf(format, i->low) + " … " + strprintf(format, i->high);
}

std::vector<double> ratios_of(const std::vector<CompareRow>& rows) {
  std::vector<double> ratios;
  for (const auto& row : rows) {
    bool seen = false;
    for (double r : ratios) seen = seen || r == row.ratio;
    if (!seen) ratios.push_back(row.ratio);
  }
  return ratios;
}

double kept_share(const CompareReport& report, const CompareRow& row) {
  return report.reference_parameters > 0
             ? double(row.nonzero_parameters) / double(report.reference_parameters)
             : 1.0;
}

void annotate_report(CompareReport& report) {
  auto& rows = report.rows;
  for (CompareRow& row : rows) {
    row.kl_interval.reset();
    row.vs_best.reset();
    row.chosen = row.frontier = false;
    if (!ran(row) || row.sequence_kl.size() != report.sequence_tokens.size()) continue;
    if (auto i = hc::bootstrap_mean(row.sequence_kl, report.sequence_tokens); i.ok())
      row.kl_interval = *i;
  }
  // Groups: (ratio, Wanda). The best row's difference to itself is exactly 0.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!ran(rows[i])) continue;
    std::optional<std::size_t> best, chosen;
    for (std::size_t j = 0; j < rows.size(); ++j) {
      if (!ran(rows[j]) || rows[j].ratio != rows[i].ratio || rows[j].wanda != rows[i].wanda)
        continue;
      if (!best || rows[j].kl < rows[*best].kl) best = j;
      if (std::isfinite(rows[j].select_kl) &&
          (!chosen || rows[j].select_kl < rows[*chosen].select_kl))
        chosen = j;
    }
    rows[i].chosen = chosen && *chosen == i;
    if (best && rows[*best].sequence_kl.size() == rows[i].sequence_kl.size() &&
        rows[i].sequence_kl.size() == report.sequence_tokens.size()) {
      if (auto d = hc::bootstrap_paired_difference(rows[i].sequence_kl, rows[*best].sequence_kl,
                                                   report.sequence_tokens);
          d.ok())
        rows[i].vs_best = *d;
    }
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!ran(rows[i])) continue;
    bool dominated = false;
    const double xi = kept_share(report, rows[i]);
    for (std::size_t j = 0; j < rows.size() && !dominated; ++j) {
      if (j == i || !ran(rows[j])) continue;
      const double xj = kept_share(report, rows[j]);
      dominated = (xj <= xi && rows[j].kl < rows[i].kl) || (xj < xi && rows[j].kl <= rows[i].kl);
    }
    rows[i].frontier = !dominated;
  }
  report.correlations.clear();
  for (double ratio : ratios_of(rows)) {
    std::vector<double> kl, g, c, h, t, m;
    for (const CompareRow& row : rows) {
      if (!ran(row) || row.ratio != ratio || row.wanda > 0 || row.variant == "wanda-only") continue;
      kl.push_back(row.kl);
      g.push_back(row.retained.gradient);
      c.push_back(row.retained.curl);
      h.push_back(row.retained.harmonic);
      t.push_back(row.retained.triangle);
      m.push_back(std::min({row.retained.gradient, row.retained.curl, row.retained.harmonic,
                            row.retained.triangle}));
    }
    if (kl.size() < 3) continue;
    report.correlations.push_back({ratio, static_cast<int>(kl.size()), spearman(g, kl),
                                   spearman(c, kl), spearman(h, kl), spearman(t, kl),
                                   spearman(m, kl)});
  }
  annotate_gate_effects(report);
}

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
        {"variant", row.variant},
        {"method", row.method},
        {"mode", row.mode},
        {"ratio", row.ratio},
        {"keep", row.keep},
        {"wanda", row.wanda},
        {"output_scale", row.output_scale},
        {"gate_correction",
         row.gate_correction.empty() ? nlohmann::json() : nlohmann::json(row.gate_correction)},
        {"plan", row.plan},
        {"kept", kept_json(row)},
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
        {"kl_interval", interval_json(row.kl_interval)},
        {"kl_minus_best", interval_json(row.vs_best)},
        {"select_kl", score_or_null(row, row.select_kl)},
        {"chosen", row.chosen},
        {"frontier", row.frontier},
    };
    if (!row.error.empty()) j["error"] = row.error;
    rows.push_back(std::move(j));
  }
  nlohmann::json correlations = nlohmann::json::array();
  for (const MassCorrelation& c : report.correlations)
    correlations.push_back({{"ratio", c.ratio},
                            {"plans", c.plans},
                            {"gradient", c.gradient},
                            {"curl", c.curl},
                            {"harmonic", c.harmonic},
                            {"triangle", c.triangle},
                            {"smallest", c.smallest}});
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
          {"experts", report.experts},
          {"reference",
           {{"perplexity", report.reference_perplexity},
            {"nll", report.reference_nll},
            {"parameters", report.reference_parameters}}},
          {"select_data",
           report.select_data.empty() ? nlohmann::json() : nlohmann::json(report.select_data)},
          {"correlations", correlations},
          {"gate_effects", gate_effects_json(report)},
          {"rows", rows}};
}

namespace {

// Model, data, and how to read the tables.
void markdown_header(std::ostream& md, const CompareReport& report) {
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

  md << "KL [95% CI]: bootstrap over held-out sequences. Δ best: paired 95% interval of this "
        "row's KL minus the lowest KL in the same ratio and Wanda group; ≈ marks rows whose "
        "interval reaches 0 (not distinguishable from the best on this data). ◆: on the "
        "frontier of parameters kept against KL over every row.";
  if (!report.select_data.empty())
    md << " sel. KL: KL on the selection text (" << report.select_data
       << "); ✓ marks the variant it chooses per group.";
  md << "\n";
}

void markdown_row(std::ostream& md, const CompareReport& report, const CompareRow& row,
                  bool select) {
  const bool best = row.vs_best && row.vs_best->low == 0.0 && row.vs_best->high == 0.0;
  const bool tied = row.vs_best && !best && row.vs_best->low <= 0.0;
  std::string name = row.variant;
  if (best) name = "**" + name + "**";
  if (tied) name = "≈ " + name;
  if (row.frontier) name += " ◆";
  if (row.chosen) name += " ✓";
  // The mode column names a gate correction when one was applied ("prune+mass").
  const bool corrected = !row.gate_correction.empty() && row.gate_correction != "off";
  md << "| " << name << " | " << row.method << " | " << row.mode
     << (corrected ? "+" + row.gate_correction : std::string()) << " | " << wanda_text(row.wanda)
     << " | ";
  if (!row.error.empty()) {
    md << "not run: " << row.error << " | | | | ";
  } else {
    md << strprintf("%.4f | %.5f [", row.perplexity, row.kl)
       << interval_text(row.kl_interval, "%.5f") << "] | "
       << (row.vs_best ? strprintf("%+.5f [", row.vs_best->estimate) +
                             interval_text(row.vs_best, "%+.5f") + "]"
                       : std::string())
       << " | " << strprintf("%.1f%% | ", 100.0 * row.top1_agreement);
  }
  md << strprintf("%.3f | %.3f | %.3f | %.3f | ", row.retained.gradient, row.retained.curl,
                  row.retained.harmonic, row.retained.triangle);
  md << (row.error.empty() && report.reference_parameters > 0
             ? percent(double(row.nonzero_parameters) / double(report.reference_parameters))
             : std::string())
     << " |";
  if (select) md << (std::isfinite(row.select_kl) ? strprintf(" %.5f |", row.select_kl) : " |");
  md << "\n";
}

// One table per removal ratio (ratio 0: the Wanda-only controls).
void markdown_ratio_tables(std::ostream& md, const CompareReport& report, bool select) {
  for (double ratio : ratios_of(report.rows)) {
    int keep = 0;
    for (const auto& row : report.rows) keep = row.ratio == ratio ? row.keep : keep;
    if (ratio == 0.0)
      md << "\n## Control: Wanda alone, every expert kept\n\n";
    else
      md << "\n## " << percent(ratio) << " of experts removed (keep " << keep << " per layer)\n\n";
    md << "| variant | method | mode | Wanda | perplexity | KL [95% CI] | Δ best [95% CI] | top-1 "
          "| gradient | curl | harmonic | triangle | params |"
       << (select ? " sel. KL |" : "") << "\n";
    md << "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
       << (select ? "---:|" : "") << "\n";
    for (const CompareRow& row : report.rows) {
      if (row.ratio == ratio) markdown_row(md, report, row, select);
    }
    if (ratio == 0.0) continue;
    md << "\n![KL and top-1 agreement per variant, " << percent(ratio) << " of experts removed]("
       << ratio_figure_file(ratio) << ")\n\n![Experts kept per layer by each variant, "
       << percent(ratio) << " of experts removed](" << keep_figure_file(ratio) << ")\n";
  }
}

// The lowest KL per ratio, with and without Wanda, and the rows tied with it.
void markdown_lowest(std::ostream& md, const CompareReport& report) {
  md << "\n## Lowest KL per ratio\n\nWith the variants whose paired interval reaches the best "
        "(indistinguishable on this data).\n\n| removed | without Wanda | with Wanda "
        "|\n|---|---|---|\n";
  for (double ratio : ratios_of(report.rows)) {
    if (ratio == 0.0) continue;
    auto cell = [&](bool wanda) -> std::string {
      const auto best = best_row(report.rows, ratio, wanda);
      if (!best) return "–";
      const CompareRow& row = report.rows[*best];
      std::string text =
          strprintf("%s (KL %.5f, perplexity %.4f)", row.variant.c_str(), row.kl, row.perplexity);
      std::string tied;
      for (const CompareRow& other : report.rows) {
        if (&other == &row || other.ratio != ratio || (other.wanda > 0) != wanda ||
            !other.vs_best || other.vs_best->low > 0.0)
          continue;
        tied += (tied.empty() ? "" : ", ") + other.variant;
      }
      if (!tied.empty()) text += "; ≈ " + tied;
      return text;
    };
    md << "| " << percent(ratio) << " | " << cell(false) << " | " << cell(true) << " |\n";
  }
}

// The variant chosen on the selection text, reported on held-out text.
void markdown_chosen(std::ostream& md, const CompareReport& report) {
  md << "\n## Chosen on the selection text, reported on the held-out text\n\n"
        "| removed | Wanda | chosen | held-out KL | Δ best [95% CI] |\n|---|---|---|---:|---:|\n";
  for (const CompareRow& row : report.rows) {
    if (!row.chosen) continue;
    md << "| " << percent(row.ratio) << " | " << wanda_text(row.wanda) << " | " << row.variant
       << " | " << strprintf("%.5f", row.kl) << " | "
       << (row.vs_best ? strprintf("%+.5f [", row.vs_best->estimate) +
                             interval_text(row.vs_best, "%+.5f") + "]"
                       : std::string())
       << " |\n";
  }
}

// Rows no other row beats on both parameters kept and KL.
void markdown_frontier(std::ostream& md, const CompareReport& report) {
  md << "\n## Frontier: parameters kept against KL\n\nRows no other row beats on both (◆ above), "
        "fewest parameters first.\n\n![Parameters kept against KL, one series per variant]("
     << frontier_figure_file()
     << ")\n\n| params | KL | variant | removed | Wanda |\n|---:|---:|---|---|---|\n";
  std::vector<const CompareRow*> front;
  for (const CompareRow& row : report.rows)
    if (row.frontier) front.push_back(&row);
  std::sort(front.begin(), front.end(), [&](const CompareRow* a, const CompareRow* b) {
    return kept_share(report, *a) < kept_share(report, *b);
  });
  for (const CompareRow* row : front)
    md << "| " << strprintf("%.1f%%", 100.0 * kept_share(report, *row)) << " | "
       << strprintf("%.5f", row->kl) << " | " << row->variant << " | " << percent(row->ratio)
       << " | " << wanda_text(row->wanda) << " |\n";
}

// Spearman correlations of retained Hodge masses with KL.
void markdown_correlations(std::ostream& md, const CompareReport& report) {
  if (!report.correlations.empty()) {
    md << "\n## Retained Hodge mass against KL\n\nSpearman correlation over the plans of each "
          "ratio (without Wanda). Negative: plans keeping more of that mass have lower KL.\n\n"
          "| removed | plans | gradient | curl | harmonic | triangle | smallest of the four |\n"
          "|---|---:|---:|---:|---:|---:|---:|\n";
    for (const MassCorrelation& c : report.correlations)
      md << "| " << percent(c.ratio) << " | " << c.plans
         << strprintf(" | %+.2f | %+.2f | %+.2f | %+.2f | %+.2f |\n", c.gradient, c.curl,
                      c.harmonic, c.triangle, c.smallest);
  }
}

// Random selection over several seeds: mean and spread per group.
void markdown_random_seeds(std::ostream& md, const CompareReport& report) {
  std::map<std::pair<double, double>, std::vector<double>> random_kl;
  for (const CompareRow& row : report.rows)
    if (ran(row) && row.variant.rfind("random.s", 0) == 0)
      random_kl[{row.ratio, row.wanda}].push_back(row.kl);
  if (!random_kl.empty()) {
    md << "\n## Random selection over seeds\n\n| removed | Wanda | seeds | mean KL | sd | min | "
          "max |\n"
          "|---|---|---:|---:|---:|---:|---:|\n";
    for (const auto& [group, kls] : random_kl) {
      double mean = 0, sd = 0;
      for (double k : kls) mean += k / double(kls.size());
      for (double k : kls) sd += (k - mean) * (k - mean);
      sd = kls.size() > 1 ? std::sqrt(sd / double(kls.size() - 1)) : 0.0;
      md << "| " << percent(group.first) << " | " << wanda_text(group.second) << " | " << kls.size()
         << strprintf(" | %.5f | %.5f | %.5f | %.5f |\n", mean, sd,
                      *std::min_element(kls.begin(), kls.end()),
                      *std::max_element(kls.begin(), kls.end()));
    }
  }
}

}  // namespace

std::string compare_report_markdown(const CompareReport& report) {
  std::ostringstream md;
  const bool select = !report.select_data.empty();
  markdown_header(md, report);
  markdown_ratio_tables(md, report, select);
  markdown_lowest(md, report);
  if (select) markdown_chosen(md, report);
  markdown_frontier(md, report);
  markdown_gate_effects(md, report);
  markdown_correlations(md, report);
  markdown_random_seeds(md, report);
  md << "\nKept checkpoints: " << report.checkpoints << ".\n";
  return md.str();
}

}  // namespace hc::native
