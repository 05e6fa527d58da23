// Scalar number decoding/encoding for checkpoint tensors (docs/FAMILIES.md): BF16, F16 and
// F8_E4M3 to F32, and F32 to BF16/F16 with round-to-nearest-even. Little-endian bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hc/result.hpp"
#include "hc/safetensors.hpp"

namespace hc::native {

float bf16_to_f32(std::uint16_t bits);
float f16_to_f32(std::uint16_t bits);
// F8_E4M3 "fn": no infinities, 0x7F/0xFF are NaN, max finite 448.
float fp8_e4m3_to_f32(std::uint8_t bits);
// Round to nearest even; NaN stays NaN (quiet), overflow becomes infinity (F16).
std::uint16_t f32_to_bf16(float value);
std::uint16_t f32_to_f16(float value);
// Nearest F8_E4M3 value, ties to the even code; beyond +-448 saturates to +-448, NaN to 0x7F.
// Exhaustive search over the 127 magnitudes: exact and simple, meant for fixtures, not speed.
std::uint8_t f32_to_fp8_e4m3(float value);

// True for the dtypes decode_f32 understands (F32, F64, F16, BF16, F8_E4M3).
bool dtype_decodable(hc::Dtype dtype);
// Decodes `bytes` (element_count elements of `dtype`, possibly unaligned) into `out`.
// InvalidArgument if the dtype is not decodable or the byte count does not match.
hc::Status decode_f32(hc::Dtype dtype, std::span<const std::uint8_t> bytes, std::span<float> out);

// True for the dtypes encode_f32 writes (F32, F16, BF16, F8_E4M3).
bool dtype_encodable(hc::Dtype dtype);
// Encodes `values` as `dtype` (little-endian). Precondition: dtype_encodable(dtype).
std::vector<std::uint8_t> encode_f32(hc::Dtype dtype, std::span<const float> values);

}  // namespace hc::native
