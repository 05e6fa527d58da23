// safetensors container: writer/reader round trips, third-party layouts that must load, and
// every malformed-file rule of docs/FAMILIES.md with its error message.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hc/safetensors.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

// A file as a third-party writer might produce it: length prefix, header text, data.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes file;
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

Bytes length_prefix(std::uint64_t n) {
  Bytes file;
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  return file;
}

// The error message of a failed result, for test diagnostics.
template <typename T>
std::string why(const hc::Result<T>& result) {
  return result.ok() ? std::string() : result.error().message;
}

Bytes zeros(std::size_t n) {
  return Bytes(n, 0);
}

template <typename T>
Bytes raw(const std::vector<T>& values) {
  Bytes out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Asserts that parsing fails as Malformed with `phrase` in the message.
void expect_malformed(const Bytes& file, const std::string& phrase) {
  const auto result = hc::parse_safetensors(file);
  BOOST_REQUIRE_MESSAGE(!result.ok(), "expected a failure mentioning '" << phrase << "'");
  BOOST_CHECK(result.error().code == hc::ErrorCode::Malformed);
  BOOST_CHECK_MESSAGE(result.error().message.find(phrase) != std::string::npos,
                      "message '" << result.error().message << "' lacks '" << phrase << "'");
}

// One F32 tensor `a` of shape [2] at the given offsets, with `data_bytes` of data.
Bytes one_tensor(const std::string& offsets, std::size_t data_bytes) {
  return make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + offsets + "}}",
                   zeros(data_bytes));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(dtype_tables) {
  const hc::Dtype all[] = {
      hc::Dtype::BOOL,    hc::Dtype::F4,          hc::Dtype::F6_E2M3,     hc::Dtype::F6_E3M2,
      hc::Dtype::U8,      hc::Dtype::I8,          hc::Dtype::F8_E5M2,     hc::Dtype::F8_E4M3,
      hc::Dtype::F8_E8M0, hc::Dtype::F8_E4M3FNUZ, hc::Dtype::F8_E5M2FNUZ, hc::Dtype::I16,
      hc::Dtype::U16,     hc::Dtype::F16,         hc::Dtype::BF16,        hc::Dtype::I32,
      hc::Dtype::U32,     hc::Dtype::F32,         hc::Dtype::C64,         hc::Dtype::F64,
      hc::Dtype::I64,     hc::Dtype::U64};
  for (const hc::Dtype d : all) {
    hc::Dtype back = hc::Dtype::BOOL;
    BOOST_CHECK(hc::dtype_from_name(hc::dtype_name(d), back));
    BOOST_CHECK(back == d);
  }
  BOOST_CHECK_EQUAL(std::string(hc::dtype_name(hc::Dtype::BF16)), "BF16");
  BOOST_CHECK_EQUAL(hc::dtype_bits(hc::Dtype::F4), 4u);
  BOOST_CHECK_EQUAL(hc::dtype_bits(hc::Dtype::F6_E3M2), 6u);
  BOOST_CHECK_EQUAL(hc::dtype_bits(hc::Dtype::F8_E4M3), 8u);
  BOOST_CHECK_EQUAL(hc::dtype_bits(hc::Dtype::BF16), 16u);
  BOOST_CHECK_EQUAL(hc::dtype_bits(hc::Dtype::F32), 32u);
  BOOST_CHECK_EQUAL(hc::dtype_bits(hc::Dtype::C64), 64u);
  hc::Dtype out = hc::Dtype::U8;
  BOOST_CHECK(!hc::dtype_from_name("f32", out));  // names are case-sensitive
  BOOST_CHECK(!hc::dtype_from_name("F33", out));
  BOOST_CHECK(!hc::dtype_from_name("", out));
}

BOOST_AUTO_TEST_CASE(writer_round_trip) {
  const std::vector<float> weights = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, -0.5f};
  const std::vector<std::int64_t> ids = {7, -9};
  const Bytes flags = {1, 0, 1, 1, 0};

  hc::SafetensorsWriter writer;
  writer.set_metadata("format", "pt");
  writer.set_metadata("note", "quote \" backslash \\ newline \n tab \t unicode \xC3\xA9");
  BOOST_REQUIRE(writer.add_tensor("w", hc::Dtype::F32, {2, 3}, raw(weights)).ok());
  BOOST_REQUIRE(writer.add_tensor("flags", hc::Dtype::U8, {5}, flags).ok());
  BOOST_REQUIRE(writer.add_tensor("ids", hc::Dtype::I64, {2}, raw(ids)).ok());
  const Bytes file = writer.serialize();

  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  BOOST_CHECK_EQUAL((8 + n) % 8, 0u);  // data section 8-byte aligned
  const std::string header(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  BOOST_CHECK_EQUAL(header.rfind("{\"__metadata__\":{", 0), 0u);

  const auto view = hc::parse_safetensors(file);
  BOOST_REQUIRE_MESSAGE(view.ok(), why(view));
  BOOST_CHECK_EQUAL(view->metadata.size(), 2u);
  BOOST_CHECK_EQUAL(view->metadata.at("format"), "pt");
  BOOST_CHECK_EQUAL(view->metadata.at("note"),
                    "quote \" backslash \\ newline \n tab \t unicode \xC3\xA9");
  BOOST_REQUIRE_EQUAL(view->tensors.size(), 3u);
  BOOST_CHECK_EQUAL(view->tensors[0].name, "w");  // insertion (header) order
  BOOST_CHECK_EQUAL(view->tensors[1].name, "flags");
  BOOST_CHECK_EQUAL(view->tensors[2].name, "ids");

  const hc::TensorInfo* w = view->find("w");
  BOOST_REQUIRE(w);
  BOOST_CHECK(w->dtype == hc::Dtype::F32);
  BOOST_CHECK((w->shape == std::vector<std::uint64_t>{2, 3}));
  BOOST_CHECK_EQUAL(w->element_count(), 6u);
  BOOST_CHECK_EQUAL(w->begin, 0u);
  BOOST_CHECK_EQUAL(w->end, 24u);
  const auto wb = view->bytes(*w);
  std::vector<float> back(6);
  std::memcpy(back.data(), wb.data(), wb.size());
  BOOST_CHECK(back == weights);

  const hc::TensorInfo* f = view->find("flags");
  BOOST_REQUIRE(f);
  BOOST_CHECK_EQUAL(f->begin, 24u);
  const auto fb = view->bytes(*f);
  BOOST_CHECK(Bytes(fb.begin(), fb.end()) == flags);
  const hc::TensorInfo* i = view->find("ids");
  BOOST_REQUIRE(i);
  BOOST_CHECK_EQUAL(i->begin, 29u);  // packed back to back, no per-tensor alignment
  const auto ib = view->bytes(*i);
  BOOST_CHECK(Bytes(ib.begin(), ib.end()) == raw(ids));
  BOOST_CHECK(view->find("missing") == nullptr);

  const Bytes data = writer.data_section();
  BOOST_CHECK(Bytes(view->data.begin(), view->data.end()) == data);
}

BOOST_AUTO_TEST_CASE(writer_without_metadata_or_tensors) {
  hc::SafetensorsWriter writer;
  const Bytes file = writer.serialize();
  const auto view = hc::parse_safetensors(file);
  BOOST_REQUIRE(view.ok());
  BOOST_CHECK(view->metadata.empty());
  BOOST_CHECK(view->tensors.empty());
  BOOST_CHECK(view->data.empty());
}

BOOST_AUTO_TEST_CASE(writer_rejects_bad_tensors) {
  hc::SafetensorsWriter writer;
  BOOST_REQUIRE(writer.add_tensor("a", hc::Dtype::F32, {2}, zeros(8)).ok());
  const auto duplicate = writer.add_tensor("a", hc::Dtype::F32, {2}, zeros(8));
  BOOST_REQUIRE(!duplicate.ok());
  BOOST_CHECK(duplicate.error().code == hc::ErrorCode::InvalidArgument);
  BOOST_CHECK(duplicate.error().message.find("duplicate tensor name 'a'") != std::string::npos);

  const auto reserved = writer.add_tensor("__metadata__", hc::Dtype::U8, {1}, zeros(1));
  BOOST_REQUIRE(!reserved.ok());
  BOOST_CHECK(reserved.error().message.find("reserved") != std::string::npos);

  const auto mismatch = writer.add_tensor("b", hc::Dtype::F32, {3}, zeros(8));
  BOOST_REQUIRE(!mismatch.ok());
  BOOST_CHECK(mismatch.error().code == hc::ErrorCode::InvalidArgument);
  BOOST_CHECK(mismatch.error().message.find("needs 12") != std::string::npos);

  const auto half_byte = writer.add_tensor("c", hc::Dtype::F4, {3}, zeros(1));
  BOOST_REQUIRE(!half_byte.ok());
  BOOST_CHECK(half_byte.error().message.find("not a whole number of bytes") != std::string::npos);

  // Failed additions leave the writer usable and unchanged.
  const auto view = hc::parse_safetensors(writer.serialize());
  BOOST_REQUIRE(view.ok());
  BOOST_CHECK_EQUAL(view->tensors.size(), 1u);
}

BOOST_AUTO_TEST_CASE(sub_byte_dtypes_pack_whole_bytes) {
  hc::SafetensorsWriter writer;
  BOOST_REQUIRE(writer.add_tensor("fp4", hc::Dtype::F4, {2, 4}, zeros(4)).ok());
  BOOST_REQUIRE(writer.add_tensor("fp6", hc::Dtype::F6_E2M3, {4}, zeros(3)).ok());
  const auto view = hc::parse_safetensors(writer.serialize());
  BOOST_REQUIRE(view.ok());
  BOOST_CHECK_EQUAL(view->find("fp6")->byte_size(), 3u);
}

BOOST_AUTO_TEST_CASE(accepts_whitespace_padding_and_unknown_fields) {
  const std::string body =
      R"({"__metadata__":{"k":"v"},"b":{"shape":[1],"dtype":"I32","data_offsets":[8,12],)"
      R"("future":{"x":[1,2]}},"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})";
  const Bytes data = zeros(12);
  for (const std::string& header : {" \n\t\r" + body, body + "   \n", "\t" + body + "\r\n "}) {
    const auto view = hc::parse_safetensors(make_file(header, data));
    BOOST_REQUIRE_MESSAGE(view.ok(), why(view));
    BOOST_REQUIRE_EQUAL(view->tensors.size(), 2u);
    BOOST_CHECK_EQUAL(view->tensors[0].name, "b");  // header order, not offset order
    BOOST_CHECK_EQUAL(view->tensors[1].name, "a");
    BOOST_CHECK_EQUAL(view->find("a")->element_count(), 1u);  // scalar
    BOOST_CHECK_EQUAL(view->metadata.at("k"), "v");
  }
}

BOOST_AUTO_TEST_CASE(zero_size_tensors) {
  // Empty tensors may share an offset with each other and with the next tensor's start.
  const std::string header = R"({"e1":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                             R"("x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                             R"("e2":{"dtype":"I64","shape":[4,0],"data_offsets":[0,0]},)"
                             R"("e3":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}})";
  const Bytes file = make_file(header, {5, 6});  // the view points into these bytes
  const auto view = hc::parse_safetensors(file);
  BOOST_REQUIRE_MESSAGE(view.ok(), why(view));
  BOOST_CHECK_EQUAL(view->find("e1")->element_count(), 0u);
  BOOST_CHECK_EQUAL(view->bytes(*view->find("e2")).size(), 0u);
  BOOST_CHECK_EQUAL(view->bytes(*view->find("x"))[1], 6);

  hc::SafetensorsWriter writer;
  BOOST_REQUIRE(writer.add_tensor("empty", hc::Dtype::F32, {0}, {}).ok());
  BOOST_REQUIRE(hc::parse_safetensors(writer.serialize()).ok());
}

BOOST_AUTO_TEST_CASE(rejects_short_and_oversized_headers) {
  expect_malformed({}, "too short");
  expect_malformed(Bytes(7, 0), "too short");
  expect_malformed(length_prefix(100), "runs past the end of the file");
  Bytes past = make_file("{}");
  past[0] = 3;  // claims 3 header bytes, has 2
  expect_malformed(past, "runs past the end of the file");
  expect_malformed(length_prefix(100'000'001), "exceeds the 100000000-byte limit");
  expect_malformed(length_prefix(~std::uint64_t{0}), "exceeds the 100000000-byte limit");
  // Exactly at the cap is allowed by the size rule (then fails only because it is truncated).
  expect_malformed(length_prefix(100'000'000), "runs past the end");
}

BOOST_AUTO_TEST_CASE(rejects_invalid_utf8) {
  expect_malformed(make_file("{\"a\xFF\":1}"), "not valid UTF-8");
  expect_malformed(make_file("{\"\xC0\xAF\":1}"), "not valid UTF-8");          // overlong '/'
  expect_malformed(make_file("{\"\xED\xA0\x80\":1}"), "not valid UTF-8");      // surrogate
  expect_malformed(make_file("{\"\xE2\x82\":1}"), "not valid UTF-8");          // truncated
  expect_malformed(make_file("{\"\xF4\x90\x80\x80\":1}"), "not valid UTF-8");  // > U+10FFFF
  // Valid multi-byte names are fine.
  const auto ok =
      hc::parse_safetensors(make_file("{\"\xE2\x82\xAC\xF0\x9F\x98\x80\":"
                                      "{\"dtype\":\"U8\",\"shape\":[0],"
                                      "\"data_offsets\":[0,0]}}"));
  BOOST_CHECK_MESSAGE(ok.ok(), why(ok));
}

BOOST_AUTO_TEST_CASE(rejects_bad_json) {
  expect_malformed(make_file(R"({"a":)"), "not valid JSON");
  expect_malformed(make_file(R"({"a" 1})"), "not valid JSON");
  expect_malformed(make_file(""), "not valid JSON");
  expect_malformed(make_file("   "), "not valid JSON");
  expect_malformed(make_file("[1,2]"), "must be an object, found array");
  expect_malformed(make_file("\"text\""), "must be an object, found string");
  expect_malformed(make_file("42"), "must be an object, found number");
  expect_malformed(make_file("{} x"), "trailing characters");
  expect_malformed(make_file("{}{}"), "trailing characters");
  expect_malformed(make_file(std::string("{}\0xyz", 6)), "NUL byte at byte 2");
  expect_malformed(make_file(std::string("{\"a\0\":1}", 8)), "NUL byte");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_keys) {
  const std::string t = R"({"dtype":"U8","shape":[0],"data_offsets":[0,0]})";
  expect_malformed(make_file("{\"a\":" + t + ",\"b\":" + t + ",\"a\":" + t + "}"),
                   "duplicate tensor name 'a'");
  expect_malformed(make_file(R"({"__metadata__":{},"__metadata__":{}})"),
                   "duplicate key '__metadata__'");
  expect_malformed(make_file(R"({"__metadata__":{"k":"1","k":"2"}})"),
                   "duplicate __metadata__ key 'k'");
  expect_malformed(
      make_file(R"({"a":{"dtype":"U8","dtype":"I8","shape":[0],"data_offsets":[0,0]}})"),
      "tensor 'a': duplicate field 'dtype'");
}

BOOST_AUTO_TEST_CASE(rejects_bad_metadata) {
  expect_malformed(make_file(R"({"__metadata__":{"format":"pt","n":3}})"),
                   "__metadata__ value for key 'n' is not a string");
  expect_malformed(make_file(R"({"__metadata__":{"k":null}})"), "is not a string");
  expect_malformed(make_file(R"({"__metadata__":{"k":{"x":"y"}}})"), "is not a string");
  expect_malformed(make_file(R"({"__metadata__":"pt"})"), "__metadata__ must be an object");
  expect_malformed(make_file(R"({"__metadata__":[]})"), "__metadata__ must be an object");
}

BOOST_AUTO_TEST_CASE(rejects_bad_tensor_entries) {
  auto entry = [](const std::string& body) { return make_file("{\"a\":" + body + "}"); };
  expect_malformed(entry("[1]"), "tensor 'a': entry must be an object");
  expect_malformed(entry(R"({"shape":[1],"data_offsets":[0,1]})"), "missing \"dtype\"");
  expect_malformed(entry(R"({"dtype":8,"shape":[1],"data_offsets":[0,1]})"),
                   "dtype must be a string");
  expect_malformed(entry(R"({"dtype":"F33","shape":[1],"data_offsets":[0,1]})"),
                   "tensor 'a': unknown dtype 'F33'");
  expect_malformed(entry(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})"), "unknown dtype");
  expect_malformed(entry(R"({"dtype":"U8","data_offsets":[0,1]})"), "missing \"shape\"");
  expect_malformed(entry(R"({"dtype":"U8","shape":3,"data_offsets":[0,1]})"),
                   "shape must be an array");
  expect_malformed(entry(R"({"dtype":"U8","shape":[2,-3],"data_offsets":[0,1]})"),
                   "shape entry -3 is negative");
  expect_malformed(entry(R"({"dtype":"U8","shape":[1.0],"data_offsets":[0,1]})"),
                   "non-negative integers");
  expect_malformed(entry(R"({"dtype":"U8","shape":["1"],"data_offsets":[0,1]})"),
                   "non-negative integers");
  expect_malformed(entry(R"({"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,1]})"),
                   "non-negative integers");
  expect_malformed(entry(R"({"dtype":"U8","shape":[1]})"), "missing \"data_offsets\"");
  expect_malformed(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})"),
                   "data_offsets must be two non-negative integers");
  expect_malformed(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})"),
                   "data_offsets must be two non-negative integers");
  expect_malformed(entry(R"({"dtype":"U8","shape":[1],"data_offsets":{"a":0}})"),
                   "data_offsets must be two non-negative integers");
}

BOOST_AUTO_TEST_CASE(rejects_offsets_that_do_not_tile) {
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":)";
  const std::string b = R"("b":{"dtype":"F32","shape":[2],"data_offsets":)";
  // Gap: a covers [0, 8), b starts at 16.
  expect_malformed(make_file("{" + a + "[0,8]}," + b + "[16,24]}}", zeros(24)),
                   "tensor 'b': data_offsets [16, 24] leave a gap after byte 8");
  // Overlap: b starts inside a.
  expect_malformed(make_file("{" + a + "[0,8]}," + b + "[4,12]}}", zeros(12)),
                   "tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
  // Two names for the same bytes (tied weights) are an overlap too.
  expect_malformed(make_file("{" + a + "[0,8]}," + b + "[0,8]}}", zeros(8)), "overlap tensor");
  // Gap before the first tensor.
  expect_malformed(one_tensor("[4,12]", 12), "leave a gap after byte 0");
  // Reversed offsets.
  expect_malformed(one_tensor("[8,0]", 8), "leave a gap after byte 0");
  expect_malformed(make_file("{" + a + "[0,8]}," + b + "[8,4]}}", zeros(8)),
                   "end before they begin");
  // Shape x dtype does not match the byte range.
  expect_malformed(one_tensor("[0,12]", 12), "hold 12 bytes but shape [2] of F32 needs 8");
  // Trailing bytes after the last tensor (the anti-polyglot rule).
  expect_malformed(one_tensor("[0,8]", 9), "1 trailing bytes after the last tensor");
  // Offsets running past the end of the file.
  expect_malformed(one_tensor("[0,8]", 4), "past the end of the file");
  // Data without any tensor at all.
  expect_malformed(make_file("{}", zeros(3)), "3 trailing bytes");
}

BOOST_AUTO_TEST_CASE(rejects_size_overflow_and_partial_bytes) {
  expect_malformed(
      make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
      "overflows 64 bits");
  expect_malformed(
      make_file(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
      "bit count");
  expect_malformed(make_file(R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", zeros(2)),
                   "not a whole number of bytes");
  // An odd F4 count is fine when the total is still whole bytes.
  BOOST_CHECK(hc::parse_safetensors(
                  make_file(R"({"a":{"dtype":"F4","shape":[3,2],"data_offsets":[0,3]}})", zeros(3)))
                  .ok());
}

BOOST_AUTO_TEST_CASE(rules_apply_in_order) {
  // A header that is both too long for the file and invalid UTF-8 reports the length first.
  Bytes file = make_file("{\"\xFF\"}");
  file[0] = 50;
  expect_malformed(file, "runs past the end");
  // Invalid UTF-8 is reported before JSON syntax.
  expect_malformed(make_file("{\"\xFF"), "not valid UTF-8");
  // Schema errors are reported before offset errors.
  expect_malformed(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                             R"("b":{"dtype":"X","shape":[2],"data_offsets":[0,4]}})",
                             zeros(12)),
                   "unknown dtype 'X'");
}

BOOST_AUTO_TEST_SUITE_END()
