// write_checkpoint: packs tensors into size-limited shards with core's SafetensorsWriter and
// publishes the directory with one rename, so readers never see a half-written checkpoint.
#include "hc/native/checkpoint_writer.hpp"

#include <unistd.h>

#include <fstream>
#include <set>

#include "hc/native/dtype_convert.hpp"
#include "hc/native/file_io.hpp"

namespace hc::native {
namespace fs = std::filesystem;
namespace {

IoError write_error(const std::string& message) {
  return IoError{IoFailure::WriteFailed, message};
}

std::optional<IoError> write_bytes(const fs::path& path, const std::uint8_t* data,
                                   std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.flush();
  if (!out) return write_error(path.string() + ": cannot write");
  return std::nullopt;
}

std::optional<IoError> write_text(const fs::path& path, const std::string& text) {
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

std::optional<IoError> check_tensors(const std::vector<TensorToWrite>& tensors) {
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (!dtype_encodable(t.dtype)) {
      return write_error(t.name + ": cannot write dtype " + hc::dtype_name(t.dtype));
    }
    std::uint64_t count = 1;
    for (auto d : t.shape) count *= d;
    if (count != t.values.size()) {
      return write_error(t.name + ": " + std::to_string(t.values.size()) +
                         " values for a tensor of " + std::to_string(count) + " elements");
    }
    if (!names.insert(t.name).second) return write_error(t.name + ": duplicate tensor name");
  }
  return std::nullopt;
}

// Fills `tmp` with the whole checkpoint.
std::optional<IoError> write_contents(const fs::path& tmp, const nlohmann::json& config,
                                      const std::vector<TensorToWrite>& tensors,
                                      const CheckpointWriteOptions& options) {
  // Greedy packing in the given order, like huggingface_hub's splitter.
  std::vector<std::vector<std::size_t>> shards(1);
  std::uint64_t used = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::uint64_t bytes = tensors[i].values.size() * (hc::dtype_bits(tensors[i].dtype) / 8);
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
    hc::SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (std::size_t i : shards[s]) {
      const TensorToWrite& t = tensors[i];
      const auto bytes = encode_f32(t.dtype, t.values);
      auto added = writer.add_tensor(t.name, t.dtype, t.shape, bytes);
      if (!added.ok()) return write_error(t.name + ": " + added.error().message);
      weight_map[t.name] = name;
      total += bytes.size();
    }
    const auto file = writer.serialize();
    if (auto err = write_bytes(tmp / name, file.data(), file.size())) return err;
  }
  if (shards.size() > 1) {
    const nlohmann::json index = {{"metadata", {{"total_size", total}}},
                                  {"weight_map", weight_map}};
    if (auto err = write_text(tmp / "model.safetensors.index.json", pretty(index))) return err;
  }
  if (auto err = write_text(tmp / "config.json", pretty(config))) return err;
  if (options.tokenizer_json) {
    if (auto err = write_text(tmp / "tokenizer.json", *options.tokenizer_json)) return err;
  }
  return std::nullopt;
}

}  // namespace

std::optional<IoError> write_checkpoint(const fs::path& dir, const nlohmann::json& config,
                                        const std::vector<TensorToWrite>& tensors,
                                        const CheckpointWriteOptions& options) {
  if (auto err = check_tensors(tensors)) return err;
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
    return write_error(dir.string() + ": already exists and is not an empty directory");
  }
  fs::path target = dir;
  if (target.filename().empty()) target = target.parent_path();  // "out/" -> "out"
  const fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  remove_tree(tmp, ec);
  if (!fs::create_directories(tmp, ec)) {
    return write_error(tmp.string() + ": cannot create directory: " + ec.message());
  }
  auto err = write_contents(tmp, config, tensors, options);
  if (!err) {
    if (fs::exists(target, ec)) fs::remove(target, ec);  // known to be an empty directory
    fs::rename(tmp, target, ec);
    if (ec) err = write_error(target.string() + ": cannot rename into place: " + ec.message());
  }
  if (err) remove_tree(tmp, ec);
  return err;
}

}  // namespace hc::native
