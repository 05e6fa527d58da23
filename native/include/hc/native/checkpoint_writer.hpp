// Writes a checkpoint directory (config.json, optional tokenizer.json, safetensors shards and
// model.safetensors.index.json) atomically: built in a temporary sibling, then renamed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hc/native/file_io.hpp"
#include "hc/result.hpp"
#include "hc/safetensors.hpp"

namespace hc::native {

struct TensorToWrite {
  std::string name;
  hc::Dtype dtype = hc::Dtype::F32;  // F32, BF16, F16 or F8_E4M3; the values are converted
  std::vector<std::uint64_t> shape;
  std::vector<float> values;  // row-major, prod(shape) elements
};

struct CheckpointWriteOptions {
  // Maximum tensor bytes per shard (0: no limit). A tensor larger than this gets a shard of
  // its own. One shard is written as model.safetensors without an index (as transformers
  // does); several as model-0000i-of-0000n.safetensors plus model.safetensors.index.json.
  std::uint64_t shard_bytes = 0;
  std::optional<std::string> tokenizer_json;  // written verbatim as tokenizer.json
};

// Every failure is WriteFailed (exit 4) with a message naming the path or tensor:
// bad tensors (dtype, element count, duplicate names), an existing non-empty `dir`, or I/O
// errors. On failure nothing is left behind; an existing empty `dir` is replaced.
hc::Status write_checkpoint(const std::filesystem::path& dir, const nlohmann::json& config,
                            const std::vector<TensorToWrite>& tensors,
                            const CheckpointWriteOptions& options = {});

// A tensor of a streamed write: its values are produced only when its turn comes.
struct TensorHeader {
  std::string name;
  hc::Dtype dtype = hc::Dtype::F32;
  std::vector<std::uint64_t> shape;
};
// Returns tensor `index`'s prod(shape) values (row-major).
using TensorProducer = std::function<hc::Result<std::vector<float>>(std::size_t index)>;

// As write_checkpoint, but only one tensor's values exist at a time: `produce(i)` is called
// once per tensor, in order, and its values are encoded straight into the shard file. A
// producer error aborts the write and is returned unchanged; write problems are WriteFailed.
// Nothing is left behind on failure.
hc::Status write_checkpoint_streamed(const std::filesystem::path& dir, const nlohmann::json& config,
                                     const std::vector<TensorHeader>& tensors,
                                     const TensorProducer& produce,
                                     const CheckpointWriteOptions& options = {});

}  // namespace hc::native
