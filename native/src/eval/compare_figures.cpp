// The comparison report's SVG figures, written as text: a tiny SVG writer (escaped text, fixed
// decimals, nothing non-finite) and the three kinds of figure drawn with it.
#include "hc/native/compare_figures.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "hc/native/text.hpp"

namespace hc::native {
namespace {

// Okabe & Ito's colour-blind-safe palette, yellow last (faint on white).
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#F0E442"};
constexpr std::size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr const char* kGrey = "#888888";
constexpr const char* kLightGrey = "#e6e6e6";

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A coordinate or length with at most two decimals; anything non-finite is written as 0.
std::string num(double v) {
  if (!std::isfinite(v)) v = 0.0;
  std::string s = strprintf("%.2f", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// ` name="value"`, the value escaped.
std::string attr(const char* name, std::string_view value) {
  return std::string(" ") + name + "=\"" + escape(value) + "\"";
}
std::string attr(const char* name, double value) {
  return std::string(" ") + name + "=\"" + num(value) + "\"";
}

// Elements appended to one document; attribute text comes from attr().
class SvgWriter {
 public:
  SvgWriter(double width, double height, const std::string& attributes) {
    m_out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          << "<svg xmlns=\"http://www.w3.org/2000/svg\"" << attr("width", width)
          << attr("height", height) << " viewBox=\"0 0 " << num(width) << " " << num(height)
          << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\"" << attributes
          << ">\n";
    rect(0, 0, width, height, attr("fill", "#ffffff"));
  }
  void open(const std::string& attributes) { m_out << "<g" << attributes << ">\n"; }
  void close() { m_out << "</g>\n"; }
  void rect(double x, double y, double w, double h, const std::string& attributes) {
    m_out << "<rect" << attr("x", x) << attr("y", y) << attr("width", std::max(w, 0.0))
          << attr("height", std::max(h, 0.0)) << attributes << "/>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& attributes) {
    m_out << "<line" << attr("x1", x1) << attr("y1", y1) << attr("x2", x2) << attr("y2", y2)
          << attributes << "/>\n";
  }
  // A marker (circle, square, triangle, diamond by shape % 4) with an optional tooltip.
  void marker(int shape, double x, double y, double r, const std::string& attributes,
              const std::string& tooltip = "") {
    std::string open;
    switch (shape % 4) {
      case 0:
        open = "<circle" + attr("cx", x) + attr("cy", y) + attr("r", r);
        break;
      case 1:
        open = "<rect" + attr("x", x - 0.85 * r) + attr("y", y - 0.85 * r) +
               attr("width", 1.7 * r) + attr("height", 1.7 * r);
        break;
      case 2:
        open = "<path d=\"M" + num(x) + " " + num(y - 1.15 * r) + "L" + num(x + r) + " " +
               num(y + 0.75 * r) + "L" + num(x - r) + " " + num(y + 0.75 * r) + "Z\"";
        break;
      default:
        open = "<path d=\"M" + num(x) + " " + num(y - 1.2 * r) + "L" + num(x + 1.2 * r) + " " +
               num(y) + "L" + num(x) + " " + num(y + 1.2 * r) + "L" + num(x - 1.2 * r) + " " +
               num(y) + "Z\"";
    }
    m_out << open << attributes;
    if (tooltip.empty())
      m_out << "/>\n";
    else
      m_out << "><title>" << escape(tooltip) << "</title></" << open.substr(1, open.find(' ') - 1)
            << ">\n";
  }
  void polyline(const std::vector<std::pair<double, double>>& points,
                const std::string& attributes) {
    m_out << "<polyline points=\"";
    for (std::size_t i = 0; i < points.size(); ++i)
      m_out << (i ? " " : "") << num(points[i].first) << "," << num(points[i].second);
    m_out << "\"" << attributes << "/>\n";
  }
  void text(double x, double y, std::string_view content, const std::string& attributes = "") {
    m_out << "<text" << attr("x", x) << attr("y", y) << attributes << ">" << escape(content)
          << "</text>\n";
  }
  void title(std::string_view content) { m_out << "<title>" << escape(content) << "</title>\n"; }
  std::string finish() {
    m_out << "</svg>\n";
    return m_out.str();
  }

 private:
  std::ostringstream m_out;
};

std::string percent_text(double share, int decimals = 0) {
  return strprintf("%.*f%%", decimals, 100.0 * share);
}

std::string ratio_label(double ratio) {
  return strprintf("%g", 100.0 * ratio);
}

// Colour index per variant, in the order variants first appear (the same in every figure).
std::map<std::string, std::size_t> variant_indices(const CompareReport& report) {
  std::map<std::string, std::size_t> index;
  for (const CompareRow& row : report.rows) index.emplace(row.variant, index.size());
  return index;
}

std::vector<std::string> variants_at(const CompareReport& report, double ratio) {
  std::vector<std::string> names;
  for (const CompareRow& row : report.rows)
    if (row.ratio == ratio && std::find(names.begin(), names.end(), row.variant) == names.end())
      names.push_back(row.variant);
  return names;
}

const char* colour(std::size_t index) {
  return kPalette[index % kPaletteSize];
}
// Shapes cycle with the colours, shifted once per palette round, so no two of the first 32
// variants look alike.
int shape(std::size_t index) {
  return static_cast<int>((index + index / kPaletteSize) % 4);
}

bool scored(const CompareRow& row) {
  return row.error.empty() && std::isfinite(row.kl);
}

// The Wanda shares of the rows with Wanda, as text ("50%", or "25%/50%").
std::string wanda_shares(const std::vector<CompareRow>& rows) {
  std::set<double> shares;
  for (const CompareRow& row : rows)
    if (row.wanda > 0) shares.insert(row.wanda);
  std::string text;
  for (double s : shares) text += (text.empty() ? "" : "/") + percent_text(s);
  return text;
}

// About `target` round ticks covering [lo, hi] (lo < hi), in [first, last] inclusive.
std::vector<double> linear_ticks(double lo, double hi, int target) {
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10.0 * magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9);
  for (int i = 0; i < 100; ++i) {
    const double t = (first + i) * step;
    ticks.push_back(std::abs(t) < 1e-12 * step ? 0.0 : t);
    if (t >= hi - 1e-9 * step) break;
  }
  return ticks;
}

// The fewest decimals that write a tick step exactly (0.25: 2, 5: 0).
int decimals_of(double step) {
  int d = 0;
  for (double scaled = step; d < 8 && std::abs(scaled - std::round(scaled)) > 1e-6 * scaled; ++d)
    scaled *= 10.0;
  return d;
}

// 1, 2 or 5 times a power of ten, without floating-point noise ("0.002", "5e-05" as "5e-5").
std::string log_tick_label(int mantissa, int exponent) {
  if (exponent >= -4 && exponent <= 4)
    return strprintf("%.*f", std::max(0, -exponent), mantissa * std::pow(10.0, exponent));
  return strprintf("%de%d", mantissa, exponent);
}

// A log axis over [lo, hi] (log10 units) with its ticks m·10^e: bounds on the 1-2-5 ladder
// with some room around [min, max], ticks at every ladder step up to three decades, else at
// decades only (bounds then on decades).
struct LogAxis {
  double lo = 0, hi = 1;
  std::vector<std::pair<int, int>> ticks;  // (m, e)
};
LogAxis log_axis(double min, double max) {
  std::vector<std::pair<int, int>> ladder;
  const int e0 = static_cast<int>(std::floor(std::log10(min))) - 1;
  const int e1 = static_cast<int>(std::ceil(std::log10(max))) + 1;
  for (int e = e0; e <= e1; ++e)
    for (int m : {1, 2, 5}) ladder.push_back({m, e});
  auto log_of = [](std::pair<int, int> t) { return std::log10(double(t.first)) + t.second; };
  const double want_lo = std::log10(min) - 0.06, want_hi = std::log10(max) + 0.06;
  std::size_t a = 0, b = ladder.size() - 1;
  for (std::size_t i = 0; i < ladder.size(); ++i) {
    if (log_of(ladder[i]) <= want_lo) a = i;
    if (log_of(ladder[ladder.size() - 1 - i]) >= want_hi) b = ladder.size() - 1 - i;
  }
  LogAxis axis;
  if (log_of(ladder[b]) - log_of(ladder[a]) <= 3.0) {
    axis.lo = log_of(ladder[a]), axis.hi = log_of(ladder[b]);
    axis.ticks.assign(ladder.begin() + static_cast<std::ptrdiff_t>(a),
                      ladder.begin() + static_cast<std::ptrdiff_t>(b) + 1);
  } else {
    const int lo = static_cast<int>(std::floor(want_lo)), hi = static_cast<int>(std::ceil(want_hi));
    axis.lo = lo, axis.hi = hi;
    for (int e = lo; e <= hi; ++e) axis.ticks.push_back({1, e});
  }
  return axis;
}

// Axis text: tick labels and a rotated y label.
void axis_label_y(SvgWriter& svg, double x, double y, const std::string& text) {
  svg.text(x, y, text,
           attr("text-anchor", "middle") + " transform=\"rotate(-90 " + num(x) + " " + num(y) +
               ")\"" + attr("font-size", 13.0));
}

}  // namespace

std::string frontier_figure_file() {
  return "figures/frontier.svg";
}
std::string ratio_figure_file(double ratio) {
  return "figures/ratio-" + ratio_label(ratio) + ".svg";
}
std::string keep_figure_file(double ratio) {
  return "figures/keep-" + ratio_label(ratio) + ".svg";
}

std::string frontier_svg(const CompareReport& report) {
  const auto index = variant_indices(report);
  struct Point {
    std::size_t row;
    double x, kl;
  };
  std::vector<Point> points;
  int not_run = 0, off_axis = 0;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const CompareRow& row = report.rows[i];
    const double x = kept_share(report, row);
    if (!scored(row) || !std::isfinite(x)) {
      ++not_run;
    } else if (!(row.kl > 0.0)) {
      ++off_axis;
    } else {
      points.push_back({i, x, row.kl});
    }
  }
  std::vector<std::string> series;  // variants with a point, in report order
  for (const Point& p : points) {
    const std::string& v = report.rows[p.row].variant;
    if (std::find(series.begin(), series.end(), v) == series.end()) series.push_back(v);
  }

  // Layout: plot on the left, legend on the right, notes below.
  const double width = 860, plot_left = 84, plot_right = 580, plot_top = 56;
  const double legend_rows = double(series.size()) + 5;
  const double height = std::max(500.0, plot_top + 22.0 * legend_rows + 40);
  const double plot_bottom = height - 92;

  double x_lo = 0.0, x_hi = 1.0, kl_lo = 1.0, kl_hi = 1.0;
  if (!points.empty()) {
    x_lo = kl_lo = INFINITY;
    x_hi = kl_hi = -INFINITY;
    for (const Point& p : points) {
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      kl_lo = std::min(kl_lo, p.kl), kl_hi = std::max(kl_hi, p.kl);
    }
  }
  if (!(x_hi - x_lo > 1e-6)) x_lo -= 0.05, x_hi += 0.05;
  const double pad = 0.04 * (x_hi - x_lo);
  const std::vector<double> x_ticks = linear_ticks(x_lo - pad, x_hi + pad, 6);
  x_lo = x_ticks.front(), x_hi = x_ticks.back();
  const LogAxis y_axis = log_axis(kl_lo, kl_hi);
  auto px = [&](double x) {
    return plot_left + (x - x_lo) / (x_hi - x_lo) * (plot_right - plot_left);
  };
  auto py = [&](double kl) {
    return plot_bottom -
           (std::log10(kl) - y_axis.lo) / (y_axis.hi - y_axis.lo) * (plot_bottom - plot_top);
  };

  SvgWriter svg(width, height,
                attr("class", "frontier-figure") + attr("data-points", double(points.size())) +
                    attr("data-skipped", double(not_run + off_axis)));
  svg.title("Share of parameters kept against KL to the original, one series per variant");
  svg.text(width / 2, 26, "Parameters kept against KL to the original",
           attr("text-anchor", "middle") + attr("font-size", 17.0) + attr("font-weight", "bold"));
  svg.text(width / 2, 44, "lower and further left is better; one colour and shape per variant",
           attr("text-anchor", "middle") + attr("fill", "#555555"));

  // Grid, ticks and axes.
  svg.open(attr("class", "axes") + attr("stroke", kLightGrey));
  for (double t : x_ticks) svg.line(px(t), plot_top, px(t), plot_bottom, "");
  std::vector<std::pair<double, std::string>> y_ticks;
  for (const auto& [m, e] : y_axis.ticks)
    y_ticks.push_back({py(m * std::pow(10.0, e)), log_tick_label(m, e)});
  for (const auto& [y, label] : y_ticks) svg.line(plot_left, y, plot_right, y, "");
  svg.close();
  svg.rect(plot_left, plot_top, plot_right - plot_left, plot_bottom - plot_top,
           attr("fill", "none") + attr("stroke", "#333333"));
  const int x_decimals = x_ticks.size() > 1 && x_ticks[1] - x_ticks[0] < 0.01 ? 1 : 0;
  for (double t : x_ticks)
    svg.text(px(t), plot_bottom + 18, percent_text(t, x_decimals), attr("text-anchor", "middle"));
  for (const auto& [y, label] : y_ticks)
    svg.text(plot_left - 6, y + 4, label, attr("text-anchor", "end"));
  svg.text((plot_left + plot_right) / 2, plot_bottom + 40,
           "share of the original parameters kept (stored and non-zero)",
           attr("text-anchor", "middle") + attr("font-size", 13.0));
  axis_label_y(svg, 22, (plot_top + plot_bottom) / 2, "KL to the original (nats/token, log scale)");

  // The frontier, under the markers.
  std::vector<std::pair<double, double>> front;
  std::vector<const Point*> front_points;
  for (const Point& p : points)
    if (report.rows[p.row].frontier) front_points.push_back(&p);
  std::sort(front_points.begin(), front_points.end(), [](const Point* a, const Point* b) {
    return a->x != b->x ? a->x < b->x : a->kl > b->kl;
  });
  for (const Point* p : front_points) front.push_back({px(p->x), py(p->kl)});
  if (front.size() >= 2)
    svg.polyline(front, attr("class", "frontier") + attr("fill", "none") + attr("stroke", kGrey) +
                            attr("stroke-width", 1.5) + attr("stroke-dasharray", "5 4"));

  for (const std::string& name : series) {
    const std::size_t i = index.at(name);
    svg.open(attr("class", "series") + attr("data-series", name) + attr("stroke", colour(i)) +
             attr("stroke-width", 2.0));
    for (const Point& p : points) {
      const CompareRow& row = report.rows[p.row];
      if (row.variant != name) continue;
      const std::string tip =
          strprintf("%s, %s removed%s: KL %.5f, %s of parameters kept", name.c_str(),
                    percent_text(row.ratio).c_str(),
                    row.wanda > 0 ? (", Wanda " + percent_text(row.wanda)).c_str() : "", row.kl,
                    percent_text(p.x, 1).c_str());
      svg.marker(shape(i), px(p.x), py(p.kl), 5.5,
                 attr("class", "point") + attr("data-ratio", strprintf("%g", row.ratio)) +
                     attr("data-wanda", strprintf("%g", row.wanda)) +
                     attr("fill", row.wanda > 0 ? "#ffffff" : colour(i)),
                 tip);
    }
    svg.close();
  }

  // Rings on the lowest KL of each removal ratio (the control's included).
  svg.open(attr("class", "best") + attr("fill", "none") + attr("stroke", "#000000") +
           attr("stroke-width", 1.5));
  for (double ratio : ratios_of(report.rows)) {
    const auto best = best_row(report.rows, ratio);
    for (const Point& p : points)
      if (best && p.row == *best) svg.marker(0, px(p.x), py(p.kl), 10.5, "");
  }
  svg.close();

  // Legend: the variants, then what filled, hollow, ring and dashes mean.
  const double lx = plot_right + 26;
  double ly = plot_top + 8;
  svg.open(attr("class", "legend"));
  for (const std::string& name : series) {
    const std::size_t i = index.at(name);
    svg.marker(shape(i), lx + 6, ly, 5.5,
               attr("fill", colour(i)) + attr("stroke", colour(i)) + attr("stroke-width", 2.0));
    svg.text(lx + 18, ly + 4, name);
    ly += 22;
  }
  ly += 6;
  svg.marker(0, lx + 6, ly, 5.5,
             attr("fill", "#555555") + attr("stroke", "#555555") + attr("stroke-width", 2.0));
  svg.text(lx + 18, ly + 4, "filled: without Wanda");
  ly += 22;
  svg.marker(0, lx + 6, ly, 5.5,
             attr("fill", "#ffffff") + attr("stroke", "#555555") + attr("stroke-width", 2.0));
  const std::string shares = wanda_shares(report.rows);
  svg.text(lx + 18, ly + 4, "hollow: with Wanda" + (shares.empty() ? "" : " " + shares));
  ly += 22;
  svg.marker(0, lx + 6, ly, 10.5, attr("fill", "none") + attr("stroke", "#000000"));
  svg.text(lx + 22, ly + 4, "ring: lowest KL at its ratio");
  ly += 22;
  svg.line(lx - 2, ly, lx + 14, ly,
           attr("stroke", kGrey) + attr("stroke-width", 1.5) + attr("stroke-dasharray", "5 4"));
  svg.text(lx + 18, ly + 4, "frontier: no row beats it on both");
  svg.close();

  std::string note;
  if (points.empty()) note = "no row has a positive KL to plot. ";
  if (not_run > 0) note += strprintf("%d row(s) not run are not shown. ", not_run);
  if (off_axis > 0)
    note += strprintf("%d row(s) with KL 0 cannot be placed on the log axis. ", off_axis);
  if (!note.empty()) {
    note.pop_back();
    svg.text(plot_left, height - 14, note, attr("class", "note") + attr("fill", "#555555"));
  }
  return svg.finish();
}

std::string ratio_svg(const CompareReport& report, double ratio) {
  const auto index = variant_indices(report);
  const std::vector<std::string> names = variants_at(report, ratio);
  std::vector<double> wandas;  // without Wanda first
  for (const CompareRow& row : report.rows)
    if (row.ratio == ratio && std::find(wandas.begin(), wandas.end(), row.wanda) == wandas.end())
      wandas.push_back(row.wanda);
  std::sort(wandas.begin(), wandas.end());
  if (wandas.empty()) wandas.push_back(0.0);

  double kl_max = 0.0;
  std::map<double, std::optional<std::size_t>> lowest;  // per Wanda setting
  for (double w : wandas) lowest[w] = std::nullopt;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const CompareRow& row = report.rows[i];
    if (row.ratio != ratio || !scored(row)) continue;
    kl_max = std::max(kl_max, row.kl);
    auto& low = lowest[row.wanda];
    if (!low || row.kl < report.rows[*low].kl) low = i;
  }
  const std::vector<double> kl_ticks = linear_ticks(0.0, kl_max > 0 ? kl_max : 1.0, 4);
  const double kl_top = kl_ticks.back();

  const double bar_h = 14, group_gap = 12, label_w = 150, panel_w = 300, value_w = 64, gap = 36;
  const double group_h = bar_h * double(wandas.size()) + group_gap;
  const double top = 84, left = 14;
  const double plot_h = group_h * double(std::max<std::size_t>(names.size(), 1));
  const double width = left + label_w + 2 * (panel_w + value_w) + gap + 10;
  const double height = top + plot_h + 56;
  const double kl_x = left + label_w, top1_x = kl_x + panel_w + value_w + gap;

  SvgWriter svg(width, height,
                attr("class", "ratio-figure") + attr("data-ratio", strprintf("%g", ratio)) +
                    attr("data-variants", double(names.size())));
  const std::string removed = percent_text(ratio) + " of experts removed";
  svg.title("KL and top-1 agreement per variant, " + removed);
  svg.text(width / 2, 24, "KL and top-1 agreement, " + removed,
           attr("text-anchor", "middle") + attr("font-size", 17.0) + attr("font-weight", "bold"));
  // Legend: one swatch per Wanda setting.
  double lx = kl_x;
  for (double w : wandas) {
    svg.rect(lx, 38, 14, 12,
             attr("fill", "#555555") + attr("fill-opacity", w > 0 ? 0.3 : 1.0) +
                 attr("stroke", "#555555"));
    const std::string label = w > 0 ? "with Wanda " + percent_text(w) : "without Wanda";
    svg.text(lx + 20, 48, label);
    lx += 40 + 7.0 * double(label.size());
  }
  svg.text(lx, 48, "bold value: lowest KL in its group", attr("fill", "#555555"));

  // Panels: headers, grids and ticks.
  auto kl_px = [&](double v) { return kl_x + v / kl_top * panel_w; };
  auto top1_px = [&](double v) { return top1_x + v * panel_w; };
  svg.text(kl_x, top - 12, "KL to the original (nats/token, lower is better)",
           attr("font-weight", "bold"));
  svg.text(top1_x, top - 12, "top-1 agreement (higher is better)", attr("font-weight", "bold"));
  svg.open(attr("class", "axes") + attr("stroke", kLightGrey));
  for (double t : kl_ticks) svg.line(kl_px(t), top - 4, kl_px(t), top + plot_h, "");
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0})
    svg.line(top1_px(t), top - 4, top1_px(t), top + plot_h, "");
  svg.close();
  const int kl_decimals = decimals_of(kl_ticks[1] - kl_ticks[0]);
  for (double t : kl_ticks)
    svg.text(kl_px(t), top + plot_h + 16, strprintf("%.*f", kl_decimals, t),
             attr("text-anchor", "middle"));
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0})
    svg.text(top1_px(t), top + plot_h + 16, percent_text(t), attr("text-anchor", "middle"));

  for (std::size_t g = 0; g < names.size(); ++g) {
    const std::string& name = names[g];
    const std::size_t ci = index.at(name);
    const double gy = top + double(g) * group_h;
    svg.open(attr("class", "bar-group") + attr("data-variant", name));
    const std::string shown = name.size() > 22 ? name.substr(0, 21) + "…" : name;
    svg.text(kl_x - 8, gy + bar_h * double(wandas.size()) / 2 + 4, shown,
             attr("text-anchor", "end"));
    for (std::size_t b = 0; b < wandas.size(); ++b) {
      const double y = gy + double(b) * bar_h;
      const CompareRow* row = nullptr;
      std::size_t row_index = 0;
      for (std::size_t i = 0; i < report.rows.size() && !row; ++i) {
        const CompareRow& r = report.rows[i];
        if (r.ratio == ratio && r.variant == name && r.wanda == wandas[b]) row = &r, row_index = i;
      }
      if (row == nullptr) continue;
      if (!scored(*row)) {
        svg.text(kl_x + 4, y + bar_h - 3, "not run" + (row->error.empty() ? "" : ": " + row->error),
                 attr("class", "not-run") + attr("fill", kGrey) + attr("font-style", "italic") +
                     attr("font-size", 11.0));
        continue;
      }
      const std::string fill = attr("fill", colour(ci)) +
                               attr("fill-opacity", wandas[b] > 0 ? 0.3 : 1.0) +
                               attr("stroke", colour(ci));
      const std::string wanda = strprintf("%g", wandas[b]);
      const bool best = lowest[wandas[b]] && *lowest[wandas[b]] == row_index;
      const double kl_w = std::clamp(row->kl / kl_top, 0.0, 1.0) * panel_w;
      svg.rect(kl_x, y + 1, kl_w, bar_h - 2,
               attr("class", "bar") + attr("data-metric", "kl") + attr("data-wanda", wanda) + fill);
      svg.text(kl_x + kl_w + 4, y + bar_h - 3, strprintf("%.4f", row->kl),
               attr("font-size", 11.0) + (best ? attr("font-weight", "bold") : std::string()));
      const double top1 =
          std::isfinite(row->top1_agreement) ? std::clamp(row->top1_agreement, 0.0, 1.0) : 0.0;
      svg.rect(
          top1_x, y + 1, top1 * panel_w, bar_h - 2,
          attr("class", "bar") + attr("data-metric", "top1") + attr("data-wanda", wanda) + fill);
      svg.text(top1_x + top1 * panel_w + 4, y + bar_h - 3, percent_text(top1, 1),
               attr("font-size", 11.0));
    }
    svg.close();
  }
  svg.line(kl_x, top - 4, kl_x, top + plot_h, attr("stroke", "#333333"));
  svg.line(top1_x, top - 4, top1_x, top + plot_h, attr("stroke", "#333333"));
  if (names.empty()) svg.text(kl_x + 4, top + 14, "no rows at this ratio", attr("fill", kGrey));
  return svg.finish();
}

std::string keep_svg(const CompareReport& report, double ratio) {
  const auto index = variant_indices(report);
  // One row per variant: its plan (the same with and without Wanda), else its first row.
  std::vector<const CompareRow*> panels;
  std::set<int> layer_set;
  int experts = report.experts;
  for (const std::string& name : variants_at(report, ratio)) {
    const CompareRow* pick = nullptr;
    for (const CompareRow& row : report.rows) {
      if (row.ratio != ratio || row.variant != name) continue;
      if (pick == nullptr || (pick->kept.empty() && !row.kept.empty())) pick = &row;
    }
    panels.push_back(pick);
    for (const auto& [layer, kept] : pick->kept) {
      layer_set.insert(layer);
      for (int e : kept) experts = std::max(experts, e + 1);
    }
  }
  const std::vector<int> layers(layer_set.begin(), layer_set.end());
  experts = std::max(experts, 1);

  const double cell = std::clamp(std::floor(256.0 / experts), 3.0, 14.0);
  // Rows at least 11 px high (a label on each) while the grid stays under ~400 px.
  const double cell_h = std::clamp(
      std::max(cell, std::floor(400.0 / double(std::max<std::size_t>(layers.size(), 1)))), 5.0,
      std::max(cell, 11.0));
  const double label_w = 36, grid_w = cell * experts;
  const double grid_h = cell_h * double(std::max<std::size_t>(layers.size(), 1));
  const double panel_w = std::max(label_w + grid_w + 24, 200.0), panel_h = grid_h + 62;
  const std::size_t columns = std::clamp<std::size_t>(static_cast<std::size_t>(960.0 / panel_w), 1,
                                                      std::max<std::size_t>(panels.size(), 1));
  const std::size_t rows = (std::max<std::size_t>(panels.size(), 1) + columns - 1) / columns;
  const double top = 64, left = 12;
  const double width = std::max(left * 2 + panel_w * double(columns), 520.0);
  const double height = top + panel_h * double(rows) + 10;

  SvgWriter svg(width, height,
                attr("class", "keep-figure") + attr("data-ratio", strprintf("%g", ratio)) +
                    attr("data-experts", double(experts)) +
                    attr("data-layers", double(layers.size())));
  const std::string removed = percent_text(ratio) + " of experts removed";
  svg.title("Experts kept per layer by each variant, " + removed);
  svg.text(width / 2, 24, "Experts kept per layer, " + removed,
           attr("text-anchor", "middle") + attr("font-size", 17.0) + attr("font-weight", "bold"));
  svg.text(width / 2, 44,
           strprintf("rows: MoE layers; columns: experts 0–%d; filled: kept", experts - 1),
           attr("text-anchor", "middle") + attr("fill", "#555555"));
  const int label_every = static_cast<int>(std::ceil(11.0 / cell_h));

  for (std::size_t p = 0; p < panels.size(); ++p) {
    const CompareRow& row = *panels[p];
    const std::size_t ci = index.at(row.variant);
    const double x0 = left + panel_w * double(p % columns) + label_w;
    const double y0 = top + panel_h * double(p / columns) + 24;
    std::size_t kept_cells = 0;
    for (const auto& [layer, kept] : row.kept) kept_cells += kept.size();
    svg.open(attr("class", "grid") + attr("data-variant", row.variant) +
             attr("data-kept", double(kept_cells)));
    const std::string heading =
        row.variant + (row.kept.empty() ? ""
                                        : strprintf(" (%s, keeps %d of %d)", row.mode.c_str(),
                                                    row.keep, experts));
    svg.text(x0, y0 - 8, heading, attr("font-weight", "bold") + attr("fill", colour(ci)));
    if (row.kept.empty()) {
      svg.text(x0, y0 + 14, "no plan: " + row.error,
               attr("class", "not-run") + attr("fill", kGrey) + attr("font-style", "italic") +
                   attr("font-size", 11.0));
      svg.close();
      continue;
    }
    svg.rect(x0, y0, grid_w, grid_h, attr("fill", kLightGrey));
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const double y = y0 + cell_h * double(l);
      if (int(l) % label_every == 0)
        svg.text(x0 - 4, y + cell_h / 2 + 3.5, strprintf("L%d", layers[l]),
                 attr("text-anchor", "end") + attr("font-size", 10.0));
      const auto it = row.kept.find(layers[l]);
      if (it == row.kept.end()) continue;
      for (int e : it->second) {
        if (e < 0 || e >= experts) continue;
        svg.rect(x0 + cell * e, y, cell > 4 ? cell - 1 : cell, cell_h > 4 ? cell_h - 1 : cell_h,
                 attr("fill", colour(ci)));
      }
    }
    svg.text(x0, y0 + grid_h + 14, "0", attr("font-size", 10.0) + attr("fill", "#555555"));
    svg.text(x0 + grid_w, y0 + grid_h + 14, strprintf("%d", experts - 1),
             attr("text-anchor", "end") + attr("font-size", 10.0) + attr("fill", "#555555"));
    svg.text(x0 + grid_w / 2, y0 + grid_h + 14, "expert",
             attr("text-anchor", "middle") + attr("font-size", 10.0) + attr("fill", "#555555"));
    svg.close();
  }
  if (panels.empty()) svg.text(left, top + 14, "no rows at this ratio", attr("fill", kGrey));
  return svg.finish();
}

std::vector<CompareFigure> compare_figures(const CompareReport& report) {
  std::vector<CompareFigure> figures;
  figures.push_back({frontier_figure_file(), "Parameters kept against KL, one series per variant",
                     frontier_svg(report)});
  for (double ratio : ratios_of(report.rows)) {
    if (ratio == 0.0) continue;
    const std::string removed = percent_text(ratio) + " of experts removed";
    figures.push_back({ratio_figure_file(ratio), "KL and top-1 agreement per variant, " + removed,
                       ratio_svg(report, ratio)});
    figures.push_back({keep_figure_file(ratio),
                       "Experts kept per layer by each variant, " + removed,
                       keep_svg(report, ratio)});
  }
  return figures;
}

}  // namespace hc::native
