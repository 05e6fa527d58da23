// A one-line progress bar on stderr (percentage, rate, ETA) for long work in any room.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace hc::native {

// Draws only when stderr is a terminal, and only once the work has run long enough to be worth
// watching, so fast runs and redirected output stay clean. Cleared when finished or destroyed.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, std::string unit);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(std::size_t steps = 1);
  void finish();

 private:
  void draw();

  std::string m_label, m_unit;
  std::size_t m_total, m_done = 0;
  bool m_enabled, m_drawn = false;
  std::chrono::steady_clock::time_point m_start, m_last_draw;
};

}  // namespace hc::native
