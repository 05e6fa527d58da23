// Small text helpers shared by every room: printf into a string, clock times, safe JSON dumps,
// and the version string recorded as `producer` in files this tool writes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#ifndef HC_VERSION
#define HC_VERSION "0.0.0"
#endif

namespace hc::native {

inline constexpr const char* kVersion = HC_VERSION;

// printf into a std::string (GCC 12 has no <format>).
std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

// "m:ss", or "h:mm:ss" from an hour on (progress bars, training ETAs).
std::string clock_text(double seconds);

// JSON text in which invalid UTF-8 in strings (model names) is replaced rather than aborting.
std::string json_text(const nlohmann::json& json, int indent = -1);

}  // namespace hc::native
