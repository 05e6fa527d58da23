// A Hugging Face style checkpoint directory opened for reading: config.json plus mmapped,
// validated safetensors shards, with tensor lookup through model.safetensors.index.json.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hc/native/mapped_file.hpp"
#include "hc/result.hpp"
#include "hc/safetensors.hpp"

namespace hc::native {

struct CheckpointTensor {
  std::string name;
  hc::Dtype dtype;
  std::vector<std::uint64_t> shape;
  std::string shard;  // file name relative to the checkpoint directory
  std::uint64_t bytes = 0;
};

class Checkpoint {
 public:
  const std::filesystem::path& dir() const { return m_dir; }
  const nlohmann::json& config() const { return m_config; }
  bool indexed() const { return m_indexed; }  // read through model.safetensors.index.json

  bool has(const std::string& name) const { return m_where.count(name) != 0; }
  // Dtype, shape and shard of a tensor; Malformed naming the tensor if absent.
  hc::Result<CheckpointTensor> info(const std::string& name) const;
  // All tensor names, sorted.
  std::vector<std::string> tensor_names() const;
  // Shard file names in the order they were opened, with their sizes in bytes.
  std::vector<std::pair<std::string, std::uint64_t>> shards() const;

  // The tensor as F32 values in row-major order. Decodes F32, F64, F16, BF16 and F8_E4M3; an
  // F8_E4M3 weight is multiplied by its block scales `<name>_scale_inv` (any float dtype,
  // shape [ceil(rows/b0), ceil(cols/b1)], b from quantization_config.weight_block_size,
  // default [128, 128]).
  hc::Result<std::vector<float>> read_f32(const std::string& name) const;

  // The tensor's stored bytes, for BF16 and F16 tensors only (InvalidArgument otherwise; use
  // read_f32): a caller can hold them in that dtype, exactly. Counted like read_f32.
  hc::Result<std::vector<std::uint8_t>> read_raw(const std::string& name) const;

  // Tensor bytes read_f32 and read_raw have read from the shards so far (block scales included):
  // what a run costs in disk reads, since the memory-mapped reads escape the process's I/O
  // counters.
  std::uint64_t bytes_read() const { return *m_bytes_read; }
  // All tensor bytes of the checkpoint (the shards' data sections).
  std::uint64_t tensor_bytes() const;

 private:
  friend hc::Result<Checkpoint> open_checkpoint(const std::filesystem::path& dir);
  struct Shard {
    std::string name;
    MappedFile file;
    hc::SafetensorsView view;  // spans into file's mapping, which does not move
  };
  struct Location {
    std::size_t shard;
    const hc::TensorInfo* tensor;
  };
  hc::Result<Location> locate(const std::string& name) const;

  std::filesystem::path m_dir;
  nlohmann::json m_config;
  bool m_indexed = false;
  std::vector<Shard> m_shards;
  std::map<std::string, Location> m_where;
  std::uint64_t m_block_rows = 128, m_block_cols = 128;
  // Shared so that the Checkpoint stays movable; atomic for readers on several threads.
  std::shared_ptr<std::atomic<std::uint64_t>> m_bytes_read =
      std::make_shared<std::atomic<std::uint64_t>>(0);
};

// Opens a checkpoint directory. Which files are read:
//  * model.safetensors.index.json present: exactly the shards named in its weight_map
//    (stray *.safetensors files are ignored). Every shard is mapped and validated, every name
//    in the index must exist in the shard it names, and tensors of a listed shard that the
//    index does not mention are still readable. `metadata` is optional.
//  * otherwise model.safetensors if present, else every *.safetensors file at the top level
//    (sorted by name; a tensor in two files is an error). No safetensors at all is an error.
// All errors are ErrorCode::Malformed with a message naming the file (and tensor).
hc::Result<Checkpoint> open_checkpoint(const std::filesystem::path& dir);

// "[32, 64]": shapes in error messages.
std::string shape_text(const std::vector<std::uint64_t>& shape);

// Reads a required JSON file (config.json, index) without letting exceptions escape.
hc::Result<nlohmann::json> read_json_file(const std::filesystem::path& path);

}  // namespace hc::native
