// write_checkpoint: packs tensors into size-limited shards with core's SafetensorsWriter and
// publishes the directory with one rename, so readers never see a half-written checkpoint.
#include "hc/native/checkpoint_writer.hpp"

#include <unistd.h>

#include <set>

#include "hc/native/dtype_convert.hpp"
#include "hc/native/file_io.hpp"

namespace hc::native {
namespace fs = std::filesystem;
namespace {

hc::Status write_bytes(const fs::path& path, const std::uint8_t* data, std::size_t size) {
  auto out = FileWriter::create(path);
  if (!out.ok()) return out.error();
  HC_TRY_STATUS(out->write(data, size));
  return out->finish();
}

hc::Status write_text(const fs::path& path, const std::string& text) {
  return write_bytes(path, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// Invalid UTF-8 in caller-supplied strings is replaced instead of throwing.
std::string pretty(const nlohmann::json& json) {
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string shard_name(std::size_t i, std::size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

hc::Error write_failed(const std::string& message) {
  return hc::make_error(hc::ErrorCode::WriteFailed, message);
}

hc::Status check_headers(const std::vector<TensorHeader>& tensors) {
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (!dtype_encodable(t.dtype)) {
      return write_failed(t.name + ": cannot write dtype " + hc::dtype_name(t.dtype));
    }
    if (!names.insert(t.name).second) return write_failed(t.name + ": duplicate tensor name");
  }
  return hc::Ok{};
}

std::uint64_t element_count(const TensorHeader& t) {
  std::uint64_t count = 1;
  for (auto d : t.shape) count *= d;
  return count;
}

// Fills `tmp` with the whole checkpoint, one tensor's values at a time.
hc::Status write_contents(const fs::path& tmp, const nlohmann::json& config,
                          const std::vector<TensorHeader>& tensors, const TensorProducer& produce,
                          const CheckpointWriteOptions& options) {
  // Greedy packing in the given order, like huggingface_hub's splitter.
  std::vector<std::vector<std::size_t>> shards(1);
  std::uint64_t used = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::uint64_t bytes = element_count(tensors[i]) * (hc::dtype_bits(tensors[i].dtype) / 8);
    if (options.shard_bytes > 0 && used > 0 && used + bytes > options.shard_bytes) {
      shards.emplace_back();
      used = 0;
    }
    shards.back().push_back(i);
    used += bytes;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  std::uint64_t total = 0;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::string name =
        shards.size() == 1 ? "model.safetensors" : shard_name(s, shards.size());
    std::vector<hc::SafetensorsEntry> entries;
    for (std::size_t i : shards[s]) {
      const TensorHeader& t = tensors[i];
      entries.push_back(
          {t.name, t.dtype, t.shape, element_count(t) * (hc::dtype_bits(t.dtype) / 8)});
    }
    auto out = FileWriter::create(tmp / name);
    if (!out.ok()) return out.error();
    const auto header = hc::safetensors_header({{"format", "pt"}}, entries);
    HC_TRY_STATUS(out->write(header.data(), header.size()));
    for (std::size_t i : shards[s]) {
      const TensorHeader& t = tensors[i];
      auto values = produce(i);
      if (!values.ok()) return values.error();
      if (values->size() != element_count(t)) {
        return write_failed(t.name + ": " + std::to_string(values->size()) +
                            " values for a tensor of " + std::to_string(element_count(t)) +
                            " elements");
      }
      const auto bytes = encode_f32(t.dtype, *values);
      HC_TRY_STATUS(out->write(bytes.data(), bytes.size()));
      weight_map[t.name] = name;
      total += bytes.size();
    }
    HC_TRY_STATUS(out->finish());
  }
  if (shards.size() > 1) {
    const nlohmann::json index = {{"metadata", {{"total_size", total}}},
                                  {"weight_map", weight_map}};
    if (hc::Status err = write_text(tmp / "model.safetensors.index.json", pretty(index));
        !err.ok()) {
      return err;
    }
  }
  if (hc::Status err = write_text(tmp / "config.json", pretty(config)); !err.ok()) return err;
  if (options.tokenizer_json) {
    if (hc::Status err = write_text(tmp / "tokenizer.json", *options.tokenizer_json); !err.ok()) {
      return err;
    }
  }
  return hc::Ok{};
}

}  // namespace

hc::Status write_checkpoint_streamed(const fs::path& dir, const nlohmann::json& config,
                                     const std::vector<TensorHeader>& tensors,
                                     const TensorProducer& produce,
                                     const CheckpointWriteOptions& options) {
  HC_TRY_STATUS(check_headers(tensors));
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
    return write_failed(dir.string() + ": already exists and is not an empty directory");
  }
  fs::path target = dir;
  if (target.filename().empty()) target = target.parent_path();  // "out/" -> "out"
  const fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  remove_dead_temporaries(target);
  remove_tree(tmp, ec);
  if (!fs::create_directories(tmp, ec)) {
    return write_failed(tmp.string() + ": cannot create directory: " + ec.message());
  }
  hc::Status written = write_contents(tmp, config, tensors, produce, options);
  if (written.ok()) {
    if (fs::exists(target, ec)) fs::remove(target, ec);  // known to be an empty directory
    fs::rename(tmp, target, ec);
    if (ec) written = write_failed(target.string() + ": cannot rename into place: " + ec.message());
  }
  if (!written.ok()) remove_tree(tmp, ec);
  return written;
}

hc::Status write_checkpoint(const fs::path& dir, const nlohmann::json& config,
                            const std::vector<TensorToWrite>& tensors,
                            const CheckpointWriteOptions& options) {
  std::vector<TensorHeader> headers;
  for (const auto& t : tensors) {
    headers.push_back({t.name, t.dtype, t.shape});
    std::uint64_t count = 1;
    for (auto d : t.shape) count *= d;
    if (count != t.values.size()) {
      return write_failed(t.name + ": " + std::to_string(t.values.size()) +
                          " values for a tensor of " + std::to_string(count) + " elements");
    }
  }
  return write_checkpoint_streamed(
      dir, config, headers,
      [&](std::size_t i) -> hc::Result<std::vector<float>> { return tensors[i].values; }, options);
}

}  // namespace hc::native
