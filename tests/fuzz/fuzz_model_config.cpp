// Fuzz target: config.json into each family's model spec (RoPE configuration included), for
// every expert layout.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "hc/native/model_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto config = nlohmann::json::parse(data, data + size, nullptr, false);
  if (config.is_discarded()) return 0;
  using hc::native::ExpertLayout;
  for (ExpertLayout layout :
       {ExpertLayout::PerExpert, ExpertLayout::Fused, ExpertLayout::FusedInterleaved}) {
    auto spec = hc::native::model_spec_from_config(config, layout);
    if (spec.ok()) (void)hc::native::expected_tensors(*spec);
  }
  return 0;
}
