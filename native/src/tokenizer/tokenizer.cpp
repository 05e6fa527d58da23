// Loading a Hugging Face tokenizer.json: validates each component and builds TokenizerImpl.
// Anything this reader cannot reproduce exactly is rejected with the component's name.
#include "hc/native/tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "hc/native/file_io.hpp"
#include "tokenizer_internal.hpp"

namespace hc::native {
namespace {

using detail::ConfigError;
using detail::NormalizerStep;
using detail::PreTokenizerStep;
using nlohmann::json;

[[noreturn]] void bad(const std::string& message) {
  throw ConfigError(message);
}

std::string type_of(const json& j, const std::string& where) {
  if (!j.is_object()) bad(where + ": expected an object");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) bad(where + ": missing \"type\"");
  return it->get<std::string>();
}

bool flag(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : it->get<bool>();
}

// Split/Replace patterns: {"String": "..."} (literal) or {"Regex": "..."}.
std::pair<std::string, bool> pattern_of(const json& j, const std::string& where) {
  const json& p = j.at("pattern");
  if (p.contains("String")) return {p.at("String").get<std::string>(), true};
  if (p.contains("Regex")) return {p.at("Regex").get<std::string>(), false};
  bad(where + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

void add_normalizer(const json& j, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = type_of(j, "normalizer");
  using K = NormalizerStep::Kind;
  if (type == "Sequence") {
    for (const json& step : j.at("normalizers")) add_normalizer(step, out);
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    const K kind = type == "NFC"    ? K::Nfc
                   : type == "NFD"  ? K::Nfd
                   : type == "NFKC" ? K::Nfkc
                                    : K::Nfkd;
    out.push_back({kind, "", ""});
  } else if (type == "Prepend") {
    out.push_back({K::Prepend, j.at("prepend").get<std::string>(), ""});
  } else if (type == "Replace") {
    auto [pattern, literal] = pattern_of(j, "normalizer Replace");
    if (!literal) bad("unsupported normalizer Replace with a Regex pattern");
    if (pattern.empty()) bad("normalizer Replace: empty pattern");
    out.push_back({K::Replace, pattern, j.at("content").get<std::string>()});
  } else {
    bad("unsupported normalizer '" + type + "'");
  }
}

void add_pre_tokenizer(const json& j, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  const std::string type = type_of(j, "pre_tokenizer");
  PreTokenizerStep step{};
  if (type == "Sequence") {
    for (const json& s : j.at("pretokenizers")) add_pre_tokenizer(s, out);
    return;
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::ByteLevel;
    step.add_prefix_space = flag(j, "add_prefix_space", true);
    step.use_regex = flag(j, "use_regex", true);
    if (step.use_regex)
      step.regex = detail::compile_regex(detail::kGpt2Pattern, false, "ByteLevel");
  } else if (type == "Split") {
    step.kind = PreTokenizerStep::Kind::Split;
    auto [pattern, literal] = pattern_of(j, "pre_tokenizer Split");
    const std::string behavior = j.value("behavior", std::string("Isolated"));
    if (behavior != "Isolated" && behavior != "Removed") {
      bad("unsupported pre_tokenizer Split behavior '" + behavior + "'");
    }
    if (flag(j, "invert", false)) bad("unsupported pre_tokenizer Split with invert = true");
    step.remove_matches = behavior == "Removed";
    step.regex = detail::compile_regex(pattern, literal, "pre_tokenizer Split");
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::Kind::Metaspace;
    if (j.contains("replacement")) step.replacement = j.at("replacement").get<std::string>();
    if (j.contains("prepend_scheme")) {
      const std::string scheme = j.at("prepend_scheme").get<std::string>();
      using P = PreTokenizerStep::Prepend;
      if (scheme == "first")
        step.prepend = P::First;
      else if (scheme == "always")
        step.prepend = P::Always;
      else if (scheme == "never")
        step.prepend = P::Never;
      else
        bad("pre_tokenizer Metaspace: unknown prepend_scheme '" + scheme + "'");
    } else if (!flag(j, "add_prefix_space", true)) {  // files from before prepend_scheme
      step.prepend = PreTokenizerStep::Prepend::Never;
    }
    step.split = flag(j, "split", true);
  } else {
    bad("unsupported pre_tokenizer '" + type + "'");
  }
  out.push_back(std::move(step));
}

// A token id: a JSON integer in [0, 2^30]. Floats are refused before any conversion (a float
// out of an integer's range is undefined behaviour in the cast nlohmann::json would do).
std::int32_t token_id(const json& v, const std::string& what) {
  // The id table is as long as the largest id: 2^22 (4.2M; released vocabularies have at most a
  // few hundred thousand) bounds it to ~150 MB, where 2^30 let one id ask for 34 GB.
  constexpr std::int64_t kMaxId = std::int64_t{1} << 22;
  if (!v.is_number_integer()) bad(what + ": id must be an integer");
  const bool huge = v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(kMaxId);
  const std::int64_t id = huge ? -1 : v.get<std::int64_t>();
  if (id < 0 || id > kMaxId) bad(what + ": id out of range");
  return static_cast<std::int32_t>(id);
}

void load_model(const json& j, detail::TokenizerImpl& impl) {
  if (!j.is_object()) bad("\"model\" must be an object");
  // Old files omit the type; they are BPE when they have merges.
  const std::string type = j.contains("type")     ? j.at("type").get<std::string>()
                           : j.contains("merges") ? "BPE"
                                                  : "(none)";
  if (type != "BPE") bad("unsupported model type '" + type + "' (only BPE is supported)");
  detail::BpeModel& m = impl.model;
  const json& vocab = j.at("vocab");
  if (!vocab.is_object()) bad("model.vocab must be an object of token → id");
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    m.vocab.emplace(it.key(), token_id(it.value(), "model.vocab['" + it.key() + "']"));
  }
  if (j.contains("dropout") && !j.at("dropout").is_null() && j.at("dropout").get<double>() > 0) {
    bad("unsupported BPE dropout (tokenization would be random)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (j.contains(key) && !j.at(key).is_null() && !j.at(key).get<std::string>().empty()) {
      bad(std::string("unsupported BPE ") + key);
    }
  }
  m.fuse_unk = flag(j, "fuse_unk", false);
  m.byte_fallback = flag(j, "byte_fallback", false);
  m.ignore_merges = flag(j, "ignore_merges", false);
  if (j.contains("unk_token") && !j.at("unk_token").is_null()) {
    const std::string unk = j.at("unk_token").get<std::string>();
    auto it = m.vocab.find(unk);
    if (it == m.vocab.end()) bad("model.unk_token '" + unk + "' is not in the vocabulary");
    m.unk_id = it->second;
  }
  m.byte_ids.fill(-1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    if (auto it = m.vocab.find(name); it != m.vocab.end()) m.byte_ids[b] = it->second;
  }

  const json& merges = j.at("merges");
  if (!merges.is_array()) bad("model.merges must be an array");
  auto id_of = [&](const std::string& token, std::size_t rank) {
    auto it = m.vocab.find(token);
    if (it == m.vocab.end()) {
      bad("model.merges[" + std::to_string(rank) + "] refers to unknown token '" + token + "'");
    }
    return it->second;
  };
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const json& merge = merges[rank];
    std::string a, b;
    if (merge.is_string()) {
      const std::string s = merge.get<std::string>();
      const std::size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        bad("model.merges[" + std::to_string(rank) + "] is not \"left right\": '" + s + "'");
      }
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2) {
      a = merge[0].get<std::string>();
      b = merge[1].get<std::string>();
    } else {
      bad("model.merges[" + std::to_string(rank) + "] must be \"a b\" or [a, b]");
    }
    const std::uint64_t key = (static_cast<std::uint64_t>(id_of(a, rank)) << 32) |
                              static_cast<std::uint32_t>(id_of(b, rank));
    // A repeated pair keeps its first (lowest) rank.
    m.merges.emplace(key, std::make_pair(static_cast<std::int32_t>(rank), id_of(a + b, rank)));
  }
}

void load_post_processor(const json& j, detail::TokenizerImpl& impl) {
  if (j.is_null()) return;
  const std::string type = type_of(j, "post_processor");
  if (type == "Sequence") {
    for (const json& p : j.at("processors")) load_post_processor(p, impl);
  } else if (type == "TemplateProcessing") {
    bool seen_sequence = false;
    for (const json& piece : j.at("single")) {
      if (piece.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      const json& special = j.at("special_tokens").at(name);
      for (const json& id : special.at("ids")) {
        (seen_sequence ? impl.suffix_ids : impl.prefix_ids)
            .push_back(token_id(id, "post_processor special token " + name));
      }
    }
  } else if (type != "ByteLevel") {
    impl.post_processor_error = "unsupported post_processor '" + type + "'";
  }
}

void load_decoder(const json& j, detail::TokenizerImpl& impl) {
  if (j.is_null()) return;
  const std::string type = type_of(j, "decoder");
  if (type == "Sequence") {
    for (const json& d : j.at("decoders")) load_decoder(d, impl);
  } else if (type == "ByteLevel") {
    impl.byte_level_decode = true;
  } else if (type == "Strip") {
    impl.strip_leading_space =
        impl.strip_leading_space ||
        (j.contains("start") && j.at("start").is_number() && j.at("start").get<double>() > 0);
  } else if (type == "Metaspace") {
    const std::string scheme = j.value("prepend_scheme", std::string("always"));
    impl.strip_leading_space = scheme != "never" && flag(j, "add_prefix_space", true);
  }  // Replace, ByteFallback, Fuse: what the SentencePiece decode does anyway.
}

void build(const json& root, detail::TokenizerImpl& impl) {
  if (!root.is_object()) bad("top level must be a JSON object");
  if (!root.contains("model")) bad("missing \"model\"");
  load_model(root.at("model"), impl);
  add_normalizer(root.value("normalizer", json()), impl.normalizer);
  add_pre_tokenizer(root.value("pre_tokenizer", json()), impl.pre_tokenizer);
  if (root.contains("added_tokens")) {
    for (const json& t : root.at("added_tokens")) {
      detail::AddedToken token;
      token.content = t.at("content").get<std::string>();
      token.id = token_id(t.at("id"), "added_tokens");
      if (token.content.empty() || token.id < 0) bad("added_tokens: empty content or bad id");
      token.special = flag(t, "special", false);
      token.lstrip = flag(t, "lstrip", false);
      token.rstrip = flag(t, "rstrip", false);
      impl.added.push_back(std::move(token));
    }
  }
  load_post_processor(root.value("post_processor", json()), impl);
  load_decoder(root.value("decoder", json()), impl);
  for (const auto& step : impl.pre_tokenizer) {
    if (step.kind == PreTokenizerStep::Kind::ByteLevel) impl.byte_level_decode = true;
  }

  std::size_t size = 0;
  for (const auto& [token, id] : impl.model.vocab) size = std::max<std::size_t>(size, id + 1);
  for (const auto& t : impl.added) size = std::max<std::size_t>(size, t.id + 1);
  impl.id_to_token.assign(size, std::string());
  impl.is_special.assign(size, false);
  impl.is_added.assign(size, false);
  for (const auto& [token, id] : impl.model.vocab) impl.id_to_token[id] = token;
  for (const auto& t : impl.added) {
    impl.id_to_token[t.id] = t.content;
    impl.is_special[t.id] = t.special;
    impl.is_added[t.id] = true;
  }
  for (std::size_t i = 0; i < impl.added.size(); ++i) {
    const auto first = static_cast<unsigned char>(impl.added[i].content[0]);
    impl.added_by_first_byte[first].push_back(i);
  }
  for (auto& list : impl.added_by_first_byte) {
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return impl.added[a].content.size() > impl.added[b].content.size();
    });
  }
}

}  // namespace

hc::Result<Tokenizer> Tokenizer::from_json(std::string_view json_text, const std::string& source) {
  auto impl = std::make_shared<detail::TokenizerImpl>();
  impl->source = source;
  try {
    const json root = json::parse(json_text);
    build(root, *impl);
  } catch (const json::parse_error& e) {
    return hc::make_error(hc::ErrorCode::Malformed, source + ": invalid JSON: " + e.what());
  } catch (const json::exception& e) {
    return hc::make_error(hc::ErrorCode::Malformed, source + ": unexpected structure: " + e.what());
  } catch (const ConfigError& e) {
    return hc::make_error(hc::ErrorCode::Malformed, source + ": " + e.what());
  }
  return Tokenizer(std::move(impl));
}

hc::Result<Tokenizer> Tokenizer::from_file(const std::filesystem::path& path) {
  std::vector<std::uint8_t> bytes;
  if (hc::Status error = read_file(path, bytes); !error.ok()) return error.error();
  return from_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                   path.string());
}

}  // namespace hc::native
