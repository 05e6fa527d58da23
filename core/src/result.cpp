// Names of error codes, used in messages and JSON error output.
#include "hc/result.hpp"

namespace hc {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotStatsFile:
      return "NotStatsFile";
    case ErrorCode::UnsupportedVersion:
      return "UnsupportedVersion";
    case ErrorCode::Malformed:
      return "Malformed";
    case ErrorCode::Corrupt:
      return "Corrupt";
    case ErrorCode::InvalidArgument:
      return "InvalidArgument";
    case ErrorCode::NumericalFailure:
      return "NumericalFailure";
    case ErrorCode::WriteFailed:
      return "WriteFailed";
    case ErrorCode::InputUnreadable:
      return "InputUnreadable";
    case ErrorCode::DeviceOutOfMemory:
      return "DeviceOutOfMemory";
    case ErrorCode::DeviceFailure:
      return "DeviceFailure";
    case ErrorCode::NonFinite:
      return "NonFinite";
    case ErrorCode::PeerFailed:
      return "PeerFailed";
  }
  return "Unknown";
}

}  // namespace hc
