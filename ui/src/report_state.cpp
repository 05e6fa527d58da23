// The report side of the dashboard state: loading report.json (next to, never instead of, the
// statistics), the keep sets it records, and the cached expert order of the matrix view.
#include <algorithm>

#include "hc/ui/app_state.hpp"
#include "hc/ui/matrix_order.hpp"

namespace hc::ui {

void set_report_error(AppState& s, const std::string& source, const std::string& message) {
  s.report_error = message.empty() ? source + ": could not be read" : message;
  if (!s.report) s.report_source = source;
}

void load_report_bytes(AppState& s, std::span<const std::uint8_t> bytes,
                       const std::string& source) {
  auto report = parse_report(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), source);
  if (!report) {
    set_report_error(
        s, source,
        std::string(error_code_name(report.error().code)) + ": " + report.error().message);
    return;
  }
  s.report = std::move(report).value();
  s.report_source = source;
  s.report_error.clear();
  s.report_hover = -1;
  s.keep_ratio = -1;
  // Compare the two lowest-KL plans (without Wanda) at the first real budget by default.
  s.keep_a = s.keep_b = -1;
  for (double ratio : s.report->ratios) {
    if (ratio <= 0) continue;
    std::vector<int> rows;
    for (std::size_t i = 0; i < s.report->rows.size(); ++i) {
      const ReportRow& r = s.report->rows[i];
      if (r.ratio == ratio && r.wanda == 0 && !r.kept.empty()) rows.push_back(static_cast<int>(i));
    }
    std::stable_sort(rows.begin(), rows.end(), [&](int a, int b) {
      const ReportRow &ra = s.report->rows[a], &rb = s.report->rows[b];
      return (ra.ran() ? ra.kl : 1e300) < (rb.ran() ? rb.kl : 1e300);
    });
    if (!rows.empty()) s.keep_a = rows[0];
    if (rows.size() > 1) s.keep_b = rows[1];
    break;
  }
  s.overview_tab_request = 2;  // show the report tab
}

void load_any_bytes(AppState& s, std::span<const std::uint8_t> bytes, const std::string& source) {
  if (looks_like_json(bytes)) {
    load_report_bytes(s, bytes, source);
  } else {
    load_bytes(s, bytes, source);
  }
}

const std::vector<int>& matrix_order(AppState& s, int index) {
  static const std::vector<int> none;
  if (!s.stats || index < 0 || index >= static_cast<int>(s.stats->layers.size())) return none;
  if (s.matrix_order.size() != s.stats->layers.size()) {
    s.matrix_order.assign(s.stats->layers.size(), {});
  }
  std::vector<int>& order = s.matrix_order[index];
  const LayerStats& layer = s.stats->layers[index];
  if (static_cast<int>(order.size()) != layer.experts)
    order = cluster_order(layer.experts, layer.edges, layer.edge_barrier);
  return order;
}

const std::vector<int>* report_kept(const AppState& s, int row, int layer) {
  if (!s.report || row < 0 || row >= static_cast<int>(s.report->rows.size())) return nullptr;
  const auto& kept = s.report->rows[row].kept;
  auto it = kept.find(layer);
  return it == kept.end() ? nullptr : &it->second;
}

double keep_view_ratio(const AppState& s) {
  if (!s.report || s.report->ratios.empty()) return 0;
  if (s.keep_ratio >= 0 && s.keep_ratio < static_cast<int>(s.report->ratios.size()))
    return s.report->ratios[s.keep_ratio];
  for (double r : s.report->ratios)
    if (r > 0) return r;
  return s.report->ratios.front();
}

nlohmann::json report_summary_json(const AppState& s) {
  nlohmann::json out = {{"source", s.report_source}, {"error", s.report_error}};
  if (!s.report) {
    out["loaded"] = false;
    return out;
  }
  out["loaded"] = true;
  out["model"] = s.report->model;
  out["rows"] = s.report->rows.size();
  out["ratios"] = s.report->ratios;
  out["variants"] = s.report->variants;
  int with_kept = 0;
  for (const ReportRow& r : s.report->rows) with_kept += r.kept.empty() ? 0 : 1;
  out["rows_with_kept"] = with_kept;
  out["compared"] = {s.keep_a, s.keep_b};
  return out;
}

}  // namespace hc::ui
