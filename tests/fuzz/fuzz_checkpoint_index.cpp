// Fuzz target: a checkpoint directory's model.safetensors.index.json, opened beside one small
// valid shard (written once), as `open_checkpoint` reads a downloaded model.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "hc/native/checkpoint.hpp"
#include "hc/safetensors.hpp"

namespace {

std::filesystem::path fuzz_dir() {
  static const std::filesystem::path dir = [] {
    const auto d =
        std::filesystem::temp_directory_path() / ("hc-fuzz-index-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    // One shard holding a 2 x 2 float32 tensor "a" and a 2-element one "b".
    const std::vector<hc::SafetensorsEntry> entries = {{"a", hc::Dtype::F32, {2, 2}, 16},
                                                       {"b", hc::Dtype::F32, {2}, 8}};
    auto header = hc::safetensors_header({{"format", "pt"}}, entries);
    header.resize(header.size() + 24, 0);
    std::ofstream(d / "model-00001-of-00001.safetensors", std::ios::binary)
        .write(reinterpret_cast<const char*>(header.data()), std::streamsize(header.size()));
    std::ofstream(d / "config.json") << "{}";
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path dir = fuzz_dir();
  {
    std::ofstream index(dir / "model.safetensors.index.json", std::ios::binary | std::ios::trunc);
    index.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  auto checkpoint = hc::native::open_checkpoint(dir);
  if (!checkpoint.ok()) return 0;
  for (const std::string& name : checkpoint->tensor_names()) (void)checkpoint->read_f32(name);
  return 0;
}
