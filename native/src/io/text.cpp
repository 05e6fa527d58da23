// Text helpers: printf into a string, clock times, JSON dumps that survive invalid UTF-8.
#include "hc/native/text.hpp"

#include <cstdarg>
#include <cstdio>

namespace hc::native {

std::string strprintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (size > 0) std::vsnprintf(text.data(), text.size() + 1, format, args);
  va_end(args);
  return text;
}

std::string clock_text(double seconds) {
  const long s = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  if (s >= 3600) return strprintf("%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return strprintf("%ld:%02ld", s / 60, s % 60);
}

std::string json_text(const nlohmann::json& json, int indent) {
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hc::native
