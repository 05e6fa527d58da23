// Bit-level conversions between F32 and the narrow float formats found in checkpoints.
// Every multi-byte load goes through memcpy: shard bytes need not be aligned.
#include "hc/native/dtype_convert.hpp"

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace hc::native {
namespace {

float from_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::uint32_t to_bits(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

float bf16_to_f32(std::uint16_t bits) {
  return from_bits(std::uint32_t(bits) << 16);
}

float f16_to_f32(std::uint16_t bits) {
  const float sign = (bits & 0x8000) ? -1.0f : 1.0f;
  const int e = (bits >> 10) & 0x1f;
  const int m = bits & 0x3ff;
  if (e == 0) return sign * std::ldexp(float(m), -24);
  if (e == 31) return m ? std::numeric_limits<float>::quiet_NaN() : sign * INFINITY;
  return sign * std::ldexp(float(1024 + m), e - 25);
}

float fp8_e4m3_to_f32(std::uint8_t bits) {
  const float sign = (bits & 0x80) ? -1.0f : 1.0f;
  const int e = (bits >> 3) & 0xf;
  const int m = bits & 0x7;
  if (e == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(float(m), -9);
  return sign * std::ldexp(float(8 + m), e - 10);
}

std::uint16_t f32_to_bf16(float value) {
  std::uint32_t u = to_bits(value);
  if (std::isnan(value)) return std::uint16_t((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return std::uint16_t(u >> 16);
}

std::uint16_t f32_to_f16(float value) {
  const std::uint32_t x = to_bits(value);
  const std::uint16_t sign = std::uint16_t((x >> 16) & 0x8000);
  const std::uint32_t ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00;   // NaN
  if (ax >= 0x477ff000) return sign | 0x7c00;  // >= 65520 rounds (ties-to-even) to infinity
  if (ax < 0x38800000) {                       // below 2^-14: F16 subnormal (or zero)
    // |value| * 2^24 is exact; nearbyint rounds half to even in the default mode. A result of
    // 1024 is the smallest normal, whose encoding is the same number.
    const float scaled = std::ldexp(from_bits(ax), 24);
    return sign | std::uint16_t(std::nearbyint(scaled));
  }
  const std::uint32_t exponent = (ax >> 23) - 127 + 15;
  const std::uint32_t mantissa = ax & 0x7fffff;
  std::uint32_t h = (exponent << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // a carry moves into the exponent
  return sign | std::uint16_t(h);
}

std::uint8_t f32_to_fp8_e4m3(float value) {
  if (std::isnan(value)) return 0x7f;
  const std::uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  const float magnitude = std::fabs(value);
  std::uint8_t best = 0;
  float best_error = INFINITY;
  for (std::uint8_t code = 0; code <= 0x7e; ++code) {  // 0x7f is NaN
    const float error = std::fabs(fp8_e4m3_to_f32(code) - magnitude);
    // Codes ascend with magnitude, so on a tie `best` is the lower code: keep it if even.
    if (error < best_error || (error == best_error && (best & 1))) {
      best = code;
      best_error = error;
    }
  }
  return sign | best;
}

bool dtype_decodable(hc::Dtype dtype) {
  switch (dtype) {
    case hc::Dtype::F32:
    case hc::Dtype::F64:
    case hc::Dtype::F16:
    case hc::Dtype::BF16:
    case hc::Dtype::F8_E4M3:
      return true;
    default:
      return false;
  }
}

hc::Status decode_f32(hc::Dtype dtype, std::span<const std::uint8_t> bytes, std::span<float> out) {
  if (!dtype_decodable(dtype)) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          std::string("cannot decode dtype ") + hc::dtype_name(dtype));
  }
  const std::size_t width = hc::dtype_bits(dtype) / 8;
  if (bytes.size() != out.size() * width) {
    return hc::make_error(hc::ErrorCode::InvalidArgument,
                          "byte count does not match element count");
  }
  const std::uint8_t* p = bytes.data();
  for (std::size_t i = 0; i < out.size(); ++i, p += width) {
    switch (dtype) {
      case hc::Dtype::F32:
        out[i] = load<float>(p);
        break;
      case hc::Dtype::F64:
        out[i] = static_cast<float>(load<double>(p));
        break;
      case hc::Dtype::F16:
        out[i] = f16_to_f32(load<std::uint16_t>(p));
        break;
      case hc::Dtype::BF16:
        out[i] = bf16_to_f32(load<std::uint16_t>(p));
        break;
      default:
        out[i] = fp8_e4m3_to_f32(*p);
        break;
    }
  }
  return hc::Ok{};
}

bool dtype_encodable(hc::Dtype dtype) {
  return dtype == hc::Dtype::F32 || dtype == hc::Dtype::F16 || dtype == hc::Dtype::BF16 ||
         dtype == hc::Dtype::F8_E4M3;
}

std::vector<std::uint8_t> encode_f32(hc::Dtype dtype, std::span<const float> values) {
  assert(dtype_encodable(dtype));
  const std::size_t width = hc::dtype_bits(dtype) / 8;
  std::vector<std::uint8_t> bytes(values.size() * width);
  std::uint8_t* p = bytes.data();
  for (float v : values) {
    if (dtype == hc::Dtype::F32) {
      std::memcpy(p, &v, 4);
    } else if (dtype == hc::Dtype::F8_E4M3) {
      *p = f32_to_fp8_e4m3(v);
    } else {
      const std::uint16_t h = dtype == hc::Dtype::F16 ? f32_to_f16(v) : f32_to_bf16(v);
      std::memcpy(p, &h, 2);
    }
    p += width;
  }
  return bytes;
}

}  // namespace hc::native
