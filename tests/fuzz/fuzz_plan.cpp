// Fuzz target: plan JSON (`apply --plan`), and the plan it yields written back and read again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hc/plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto plan = hc::parse_plan(text, "fuzz.json");
  if (!plan.ok()) return 0;
  if (!hc::parse_plan(hc::plan_to_json(*plan).dump(), "rewritten.json").ok()) __builtin_trap();
  return 0;
}
