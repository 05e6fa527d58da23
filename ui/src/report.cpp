// parse_report: report.json (hodgecover.compare version 1) into the dashboard's Report, checking
// every field it uses so a hand-edited or truncated report gets a message, never a crash.
#include "hc/ui/report.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace hc::ui {
namespace {

using nlohmann::json;

// lhs = value of a Result expression, or return its error.
#define ASSIGN_OR_RETURN(lhs, expr)                     \
  do {                                                  \
    auto assign_result_ = (expr);                       \
    if (!assign_result_) return assign_result_.error(); \
    lhs = std::move(assign_result_).value();            \
  } while (0)

Error bad(const std::string& source, const std::string& what) {
  return Error{ErrorCode::Malformed, source + ": " + what};
}

// A number, or NaN when the field is absent or null (scores of rows that did not run).
Result<double> optional_number(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nan("");
  if (!it->is_number())
    return Error{ErrorCode::Malformed, where + ": \"" + key + "\" is not a number"};
  const double v = it->get<double>();
  if (!std::isfinite(v))
    return Error{ErrorCode::Malformed, where + ": \"" + key + "\" is not finite"};
  return v;
}

std::string optional_string(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<std::map<int, std::vector<int>>> parse_kept(const json& j, const std::string& where) {
  std::map<int, std::vector<int>> kept;
  auto it = j.find("kept");
  if (it == j.end() || it->is_null()) return kept;
  if (!it->is_object()) return Error{ErrorCode::Malformed, where + ": \"kept\" is not an object"};
  for (const auto& [key, experts] : it->items()) {
    char* end = nullptr;
    const long layer = std::strtol(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || layer < 0 || layer > 1000000)
      return Error{ErrorCode::Malformed, where + ": \"kept\" has a bad layer key '" + key + "'"};
    if (!experts.is_array())
      return Error{ErrorCode::Malformed, where + ": kept[" + key + "] is not an array"};
    std::vector<int> list;
    for (const json& e : experts) {
      if (!e.is_number_integer() || e.get<long long>() < 0 || e.get<long long>() > 1000000)
        return Error{ErrorCode::Malformed,
                     where + ": kept[" + key + "] holds something other than an expert index"};
      list.push_back(e.get<int>());
    }
    kept[static_cast<int>(layer)] = std::move(list);
  }
  return kept;
}

Result<ReportRow> parse_row(const json& j, const std::string& where) {
  if (!j.is_object()) return Error{ErrorCode::Malformed, where + ": not an object"};
  ReportRow row;
  auto variant = j.find("variant");
  if (variant == j.end() || !variant->is_string() || variant->get<std::string>().empty())
    return Error{ErrorCode::Malformed, where + ": no \"variant\" name"};
  row.variant = variant->get<std::string>();
  row.method = optional_string(j, "method");
  row.mode = optional_string(j, "mode");
  row.error = optional_string(j, "error");
  auto ratio = j.find("ratio");
  if (ratio == j.end() || !ratio->is_number() || !(ratio->get<double>() >= 0) ||
      ratio->get<double>() >= 1)
    return Error{ErrorCode::Malformed, where + ": \"ratio\" must be a number in [0, 1)"};
  row.ratio = ratio->get<double>();
  ASSIGN_OR_RETURN(row.wanda, optional_number(j, "wanda", where));
  if (!std::isfinite(row.wanda)) row.wanda = 0;
  if (row.wanda < 0 || row.wanda >= 1)
    return Error{ErrorCode::Malformed, where + ": \"wanda\" must be in [0, 1)"};
  auto keep = j.find("keep");
  if (keep != j.end() && keep->is_number_integer()) row.keep = keep->get<int>();
  ASSIGN_OR_RETURN(row.perplexity, optional_number(j, "perplexity", where));
  ASSIGN_OR_RETURN(row.kl, optional_number(j, "kl", where));
  ASSIGN_OR_RETURN(row.top1, optional_number(j, "top1_agreement", where));
  ASSIGN_OR_RETURN(row.params_kept, optional_number(j, "parameters_kept", where));
  if (auto ci = j.find("kl_interval"); ci != j.end() && ci->is_object()) {
    ASSIGN_OR_RETURN(row.kl_low, optional_number(*ci, "low", where + " kl_interval"));
    ASSIGN_OR_RETURN(row.kl_high, optional_number(*ci, "high", where + " kl_interval"));
  }
  if (row.error.empty() && !std::isfinite(row.kl))
    row.error = "no KL recorded";  // a row without scores is shown as not run
  row.frontier = j.value("frontier", false);
  row.chosen = j.value("chosen", false);
  ASSIGN_OR_RETURN(row.kept, parse_kept(j, where));
  return row;
}

}  // namespace

bool looks_like_json(std::span<const std::uint8_t> bytes) {
  // A statistics file opens with its header length as 8 little-endian bytes, whose first byte
  // may well be '{' (0x7b); the zero bytes after it (any header under 2^56 bytes) never occur
  // in JSON text.
  for (std::size_t i = 0; i < bytes.size() && i < 64; ++i)
    if (bytes[i] == 0) return false;
  for (std::uint8_t b : bytes) {
    if (b == ' ' || b == '\t' || b == '\n' || b == '\r') continue;
    return b == '{';
  }
  return false;
}

Result<Report> parse_report(std::string_view text, const std::string& source) {
  const json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return bad(source, "not valid JSON");
  if (!j.is_object() || j.value("format", std::string()) != "hodgecover.compare")
    return Error{ErrorCode::NotStatsFile,
                 source + ": not a comparison report (format is not \"hodgecover.compare\")"};
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != 1)
    return Error{ErrorCode::UnsupportedVersion,
                 source + ": only comparison reports of version 1 can be read"};
  auto rows = j.find("rows");
  if (rows == j.end() || !rows->is_array()) return bad(source, "no \"rows\" array");
  Report report;
  report.model = optional_string(j, "model");
  report.stats = optional_string(j, "stats");
  report.data = optional_string(j, "data");
  if (auto ref = j.find("reference"); ref != j.end() && ref->is_object()) {
    ASSIGN_OR_RETURN(report.reference_perplexity,
                     optional_number(*ref, "perplexity", source + ": reference"));
  }
  for (std::size_t i = 0; i < rows->size(); ++i) {
    auto row = parse_row((*rows)[i], source + ": row " + std::to_string(i));
    if (!row) return row.error();
    bool seen_ratio = false, seen_variant = false;
    for (double r : report.ratios) seen_ratio = seen_ratio || r == row->ratio;
    for (const auto& v : report.variants) seen_variant = seen_variant || v == row->variant;
    if (!seen_ratio) report.ratios.push_back(row->ratio);
    if (!seen_variant) report.variants.push_back(row->variant);
    report.rows.push_back(std::move(row).value());
  }
  if (report.rows.empty()) return bad(source, "the report has no rows");
  return report;
}

std::string row_label(const ReportRow& row) {
  char buf[64];
  std::string label = row.variant;
  if (row.ratio > 0) {
    std::snprintf(buf, sizeof buf, ", %.0f%% removed", 100 * row.ratio);
    label += buf;
  }
  if (row.wanda > 0) {
    std::snprintf(buf, sizeof buf, " + Wanda %.0f%%", 100 * row.wanda);
    label += buf;
  }
  return label;
}

int lowest_kl_row(const Report& report, double ratio, bool with_wanda) {
  int best = -1;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const ReportRow& r = report.rows[i];
    if (!r.ran() || r.ratio != ratio || (r.wanda > 0) != with_wanda) continue;
    if (best < 0 || r.kl < report.rows[best].kl) best = static_cast<int>(i);
  }
  return best;
}

}  // namespace hc::ui
