#include "ledger/status.h"

#include <cerrno>
#include <cstring>

namespace shiplog {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kBadSignature: return "bad_signature";
    case StatusCode::kUnknownKey: return "unknown_key";
    case StatusCode::kForbidden: return "forbidden";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kDenied: return "denied";
    case StatusCode::kCorrupt: return "corrupt";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kNoSpace: return "no_space";
    case StatusCode::kUnavailable: return "unavailable";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::Prefixed(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

Status ErrnoStatus(const std::string& what, const std::string& path, int error) {
  std::string message = what + " " + path + ": " + std::strerror(error);
  if (error == ENOSPC || error == EDQUOT) return Status::NoSpace(std::move(message));
  return Status::Internal(std::move(message));
}

}  // namespace shiplog
