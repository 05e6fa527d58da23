// open_checkpoint and tensor decoding: index resolution, shard validation, FP8 block scales.
#include "hc/native/checkpoint.hpp"

#include <algorithm>
#include <string>

#include "hc/native/dtype_convert.hpp"

namespace hc::native {
namespace fs = std::filesystem;
namespace {

hc::Error malformed(const std::string& message) {
  return hc::make_error(hc::ErrorCode::Malformed, message);
}

// Shard names come from a file we do not trust: keep them inside the directory.
bool safe_relative(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (const auto& part : fs::path(name)) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

hc::Result<nlohmann::json> read_json_file(const fs::path& path) {
  auto file = MappedFile::open(path);
  if (!file.ok()) return file.error();
  const auto bytes = file->bytes();
  nlohmann::json json = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (json.is_discarded()) return malformed(path.string() + ": invalid JSON");
  if (!json.is_object()) return malformed(path.string() + ": expected a JSON object");
  return json;
}

hc::Result<Checkpoint> open_checkpoint(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return malformed(dir.string() + ": not a checkpoint directory");
  Checkpoint ckpt;
  ckpt.m_dir = dir;
  if (!fs::exists(dir / "config.json", ec)) {
    return malformed(dir.string() + ": directory is not a checkpoint (no config.json)");
  }
  auto config = read_json_file(dir / "config.json");
  if (!config.ok()) return config.error();
  ckpt.m_config = std::move(config).value();

  const auto quant = ckpt.m_config.find("quantization_config");
  if (quant != ckpt.m_config.end() && quant->is_object()) {
    const auto block = quant->find("weight_block_size");
    if (block != quant->end()) {
      if (!block->is_array() || block->size() != 2 || !(*block)[0].is_number_unsigned() ||
          !(*block)[1].is_number_unsigned() || (*block)[0] == 0 || (*block)[1] == 0) {
        return malformed((dir / "config.json").string() +
                         ": quantization_config.weight_block_size must be two positive integers");
      }
      ckpt.m_block_rows = (*block)[0].get<std::uint64_t>();
      ckpt.m_block_cols = (*block)[1].get<std::uint64_t>();
    }
  }

  // Which shard files, and (with an index) which tensor each indexed name lives in.
  std::vector<std::string> shard_names;
  std::map<std::string, std::string> weight_map;
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path, ec)) {
    ckpt.m_indexed = true;
    auto index = read_json_file(index_path);
    if (!index.ok()) return index.error();
    const auto map = index->find("weight_map");
    if (map == index->end() || !map->is_object()) {
      return malformed(index_path.string() + ": missing weight_map object");
    }
    for (const auto& [name, shard] : map->items()) {
      if (!shard.is_string() || !safe_relative(shard.get<std::string>())) {
        return malformed(index_path.string() + ": weight_map entry for " + name +
                         " is not a file name inside the directory");
      }
      weight_map[name] = shard.get<std::string>();
      if (std::find(shard_names.begin(), shard_names.end(), weight_map[name]) ==
          shard_names.end()) {
        shard_names.push_back(weight_map[name]);
      }
    }
    std::sort(shard_names.begin(), shard_names.end());
  } else if (fs::exists(dir / "model.safetensors", ec)) {
    shard_names.push_back("model.safetensors");
  } else {
    // increment(ec) rather than a range-for: iteration must not throw.
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".safetensors") {
        shard_names.push_back(it->path().filename().string());
      }
    }
    std::sort(shard_names.begin(), shard_names.end());
  }
  if (shard_names.empty()) return malformed(dir.string() + ": no *.safetensors files");

  ckpt.m_shards.reserve(shard_names.size());
  for (const auto& name : shard_names) {
    const fs::path path = dir / name;
    auto file = MappedFile::open(path);
    if (!file.ok()) return file.error();
    auto view = hc::parse_safetensors(file->bytes());
    if (!view.ok()) return malformed(path.string() + ": " + view.error().message);
    ckpt.m_shards.push_back(
        Checkpoint::Shard{name, std::move(file).value(), std::move(view).value()});
  }
  // Pointers into m_shards are taken only now that the vector no longer grows.
  for (std::size_t s = 0; s < ckpt.m_shards.size(); ++s) {
    for (const auto& tensor : ckpt.m_shards[s].view.tensors) {
      const auto indexed = weight_map.find(tensor.name);
      if (indexed != weight_map.end() && indexed->second != ckpt.m_shards[s].name) continue;
      if (!ckpt.m_where.emplace(tensor.name, Checkpoint::Location{s, &tensor}).second) {
        return malformed((dir / ckpt.m_shards[s].name).string() + ": tensor " + tensor.name +
                         " also appears in " +
                         ckpt.m_shards[ckpt.m_where.at(tensor.name).shard].name);
      }
    }
  }
  for (const auto& [name, shard] : weight_map) {
    if (!ckpt.m_where.count(name)) {
      return malformed((dir / shard).string() + ": tensor " + name +
                       " is listed in model.safetensors.index.json but absent from this shard");
    }
  }
  return ckpt;
}

hc::Result<Checkpoint::Location> Checkpoint::locate(const std::string& name) const {
  const auto it = m_where.find(name);
  if (it == m_where.end()) return malformed(m_dir.string() + ": no tensor named " + name);
  return it->second;
}

hc::Result<CheckpointTensor> Checkpoint::info(const std::string& name) const {
  auto where = locate(name);
  if (!where.ok()) return where.error();
  const hc::TensorInfo& t = *where->tensor;
  return CheckpointTensor{name, t.dtype, t.shape, m_shards[where->shard].name, t.byte_size()};
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(m_where.size());
  for (const auto& entry : m_where) names.push_back(entry.first);
  return names;  // std::map keeps them sorted
}

std::vector<std::pair<std::string, std::uint64_t>> Checkpoint::shards() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& shard : m_shards) out.emplace_back(shard.name, shard.file.size());
  return out;
}

std::uint64_t Checkpoint::tensor_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [name, where] : m_where) total += where.tensor->byte_size();
  return total;
}

hc::Result<std::vector<std::uint8_t>> Checkpoint::read_raw(const std::string& name) const {
  auto where = locate(name);
  if (!where.ok()) return where.error();
  const hc::TensorInfo& t = *where->tensor;
  if (t.dtype != hc::Dtype::BF16 && t.dtype != hc::Dtype::F16) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          name + ": stored as " + hc::dtype_name(t.dtype) +
                              "; only BF16 and F16 tensors are read as stored");
  }
  const auto raw = m_shards[where->shard].view.bytes(t);
  *m_bytes_read += raw.size();
  std::vector<std::uint8_t> bytes(raw.begin(), raw.end());
  m_shards[where->shard].file.drop_pages(raw);
  return bytes;
}

hc::Result<std::vector<float>> Checkpoint::read_f32(const std::string& name) const {
  auto where = locate(name);
  if (!where.ok()) return where.error();
  const hc::TensorInfo& t = *where->tensor;
  const std::string source = (m_dir / m_shards[where->shard].name).string() + ": " + name;
  if (!dtype_decodable(t.dtype)) {
    return malformed(source + ": cannot decode dtype " + hc::dtype_name(t.dtype));
  }
  std::vector<float> values(t.element_count());
  const auto raw = m_shards[where->shard].view.bytes(t);
  *m_bytes_read += raw.size();
  auto decoded = decode_f32(t.dtype, raw, values);
  m_shards[where->shard].file.drop_pages(raw);  // streamed: keep resident memory near one layer
  if (!decoded.ok()) return malformed(source + ": " + decoded.error().message);
  if (t.dtype != hc::Dtype::F8_E4M3) return values;

  // Block-scaled FP8: W[i][j] = q[i][j] * S[i / b0][j / b1] (the scale is multiplied).
  const std::string scale_name = name + "_scale_inv";
  if (t.shape.size() != 2) return malformed(source + ": F8_E4M3 tensor must be 2-D");
  if (!has(scale_name)) return malformed(source + ": F8_E4M3 weight without " + scale_name);
  auto scale_info = info(scale_name);
  const std::uint64_t rows = t.shape[0], cols = t.shape[1];
  const std::vector<std::uint64_t> want = {(rows + m_block_rows - 1) / m_block_rows,
                                           (cols + m_block_cols - 1) / m_block_cols};
  if (scale_info->shape != want) {
    return malformed(scale_name + ": expected shape " + shape_text(want) + ", found " +
                     shape_text(scale_info->shape));
  }
  if (scale_info->dtype == hc::Dtype::F8_E4M3) {
    return malformed(scale_name + ": block scales must be F32, F16 or BF16");
  }
  auto scales = read_f32(scale_name);
  if (!scales.ok()) return scales.error();
  for (std::uint64_t i = 0; i < rows; ++i) {
    const float* srow = scales->data() + (i / m_block_rows) * want[1];
    float* row = values.data() + i * cols;
    for (std::uint64_t j = 0; j < cols; ++j) row[j] *= srow[j / m_block_cols];
  }
  return values;
}

}  // namespace hc::native
