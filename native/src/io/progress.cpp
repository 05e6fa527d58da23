// The stderr progress bar: drawn late, throttled, and cleared when done.
#include "hc/native/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "hc/native/text.hpp"

namespace hc::native {
namespace {

constexpr auto kDrawDelay = std::chrono::milliseconds(400);
constexpr auto kDrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 24;

}  // namespace

ProgressBar::ProgressBar(std::string label, std::size_t total, std::string unit)
    : m_label(std::move(label)),
      m_unit(std::move(unit)),
      m_total(total),
      m_enabled(total > 1 && ::isatty(STDERR_FILENO) == 1),
      m_start(std::chrono::steady_clock::now()),
      m_last_draw(m_start) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::advance(std::size_t steps) {
  m_done = std::min(m_total, m_done + steps);
  if (!m_enabled) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - m_start < kDrawDelay || (m_drawn && now - m_last_draw < kDrawInterval)) return;
  m_last_draw = now;
  draw();
}

void ProgressBar::finish() {
  if (m_drawn) std::cerr << "\r\033[K" << std::flush;
  m_drawn = false;
  m_enabled = false;
}

void ProgressBar::draw() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  const double share = m_total > 0 ? static_cast<double>(m_done) / m_total : 1.0;
  const int filled = static_cast<int>(share * kBarWidth);
  const double rate = elapsed > 0 ? m_done / elapsed : 0.0;
  const std::string eta = rate > 0 ? clock_text((m_total - m_done) / rate) : "?";
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kBarWidth - filled), '.');
  std::cerr << "\r\033[K"
            << strprintf("%s [%s] %3.0f%%  %zu/%zu %s  %.1f %s/s  ETA %s", m_label.c_str(),
                         bar.c_str(), share * 100.0, m_done, m_total, m_unit.c_str(), rate,
                         m_unit.c_str(), eta.c_str())
            << std::flush;
  m_drawn = true;
}

}  // namespace hc::native
