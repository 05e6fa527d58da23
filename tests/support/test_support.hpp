// The native test suites' shared helpers in one place: temporary directories, running the CLI,
// tiny checkpoints of every family, and token-id files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "checkpoint_fixture.hpp"
#include "cli_fixture.hpp"
#include "temp_dir.hpp"

namespace hc::test {

// Deterministic token ids in [0, vocab): (i * step + offset) % vocab.
inline std::vector<std::int32_t> token_ids(int count, int vocab, int step = 17, int offset = 5) {
  std::vector<std::int32_t> ids;
  ids.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) ids.push_back((i * step + offset) % vocab);
  return ids;
}

// Writes ids as raw little-endian int32 (the `--ids FILE.bin` format).
inline void write_token_ids(const std::filesystem::path& path,
                            const std::vector<std::int32_t>& ids) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(ids.data()),
            static_cast<std::streamsize>(ids.size() * sizeof(std::int32_t)));
}

}  // namespace hc::test
