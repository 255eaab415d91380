// Status and Result: how every module boundary in shiplog reports failure.
//
// A failure that a caller acts on is a value, never an exception. The code says what kind of
// failure it is, and maps one to one onto the CLI's exit codes (tools/) and, later, HTTP statuses;
// the message says what was wrong in words a user can act on.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace shiplog {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // malformed input: bad JSON, a missing field, an unknown kind, too large
  kBadSignature,     // a signature that does not verify
  kUnknownKey,       // a key that is not enrolled, or is revoked
  kForbidden,        // authenticated, but not allowed: actor/key mismatch, missing role
  kConflict,         // an event id already used by a different event
  kNotFound,         // no such record, file or ledger
  kDenied,           // the policy denied an intent
  kCorrupt,          // stored data failed verification (tampering or damage)
  kInternal,         // a bug or a broken resource (disk, database)
  kFailedPrecondition,  // the service is not set up for this (no policy, no integration key)
  kNoSpace,          // the disk is full: nothing was stored; the same write may succeed later
  kUnavailable,      // the ledger's database cannot be reached now; the same write may succeed
                     // later (its outcome may be unknown: a repeat of a signed event is safe)
};

// The name of a code, for logs and JSON ("invalid_argument").
const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status BadSignature(std::string m) { return {StatusCode::kBadSignature, std::move(m)}; }
  static Status UnknownKey(std::string m) { return {StatusCode::kUnknownKey, std::move(m)}; }
  static Status Forbidden(std::string m) { return {StatusCode::kForbidden, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Denied(std::string m) { return {StatusCode::kDenied, std::move(m)}; }
  static Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status NoSpace(std::string m) { return {StatusCode::kNoSpace, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: event kind 'step.started' needs field 'step'"
  std::string ToString() const;

  // The same failure with context in front: "reading key file a.key: <message>".
  Status Prefixed(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A failed system call on `path` ("fsync data/000012.log: Input/output error"): NoSpace when the
// disk or the quota is full (not damage: the ledger takes appends again once space is freed),
// Internal for anything else.
Status ErrnoStatus(const std::string& what, const std::string& path, int error);

namespace internal {

// Reading the value of a failed Result is a bug in the caller, not an error to recover from: it
// must never surface as an exception that some handler far away turns into "bad input" or that
// unwinds through half-done state (a sequencer, an Asio handler). So it stops the process loudly,
// naming the Status, in every build type (like KJ_REQUIRE).
[[noreturn]] inline void DieOnUncheckedValue(const Status& status) {
  std::fprintf(stderr, "shiplog: BUG: value() of a failed Result: %s\n", status.ToString().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal

// A value or the Status saying why there is none. REQUIRES: a Result is never built from an OK
// Status.
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose, like a return
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }

  // REQUIRES: ok(). Calling them on a failed Result aborts the process (see DieOnUncheckedValue):
  // check ok() first, or use SHIPLOG_ASSIGN_OR_RETURN.
  T& value() & { return *Checked(); }
  const T& value() const& { return *Checked(); }
  T&& value() && { return std::move(*Checked()); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  T* Checked() {
    if (!ok()) internal::DieOnUncheckedValue(std::get<Status>(state_));
    return std::get_if<T>(&state_);
  }
  const T* Checked() const {
    if (!ok()) internal::DieOnUncheckedValue(std::get<Status>(state_));
    return std::get_if<T>(&state_);
  }

  std::variant<T, Status> state_;
};

}  // namespace shiplog

// Returns early from the calling function when `expr` (a Status) is not OK.
#define SHIPLOG_RETURN_IF_ERROR(expr)      \
  do {                                     \
    ::shiplog::Status _st = (expr);        \
    if (!_st.ok()) return _st;             \
  } while (0)

#define SHIPLOG_CONCAT_INNER(a, b) a##b
#define SHIPLOG_CONCAT(a, b) SHIPLOG_CONCAT_INNER(a, b)

// `SHIPLOG_ASSIGN_OR_RETURN(auto x, MakeX());` assigns the value or returns the Status.
#define SHIPLOG_ASSIGN_OR_RETURN(lhs, expr) \
  SHIPLOG_ASSIGN_OR_RETURN_IMPL(SHIPLOG_CONCAT(_result_, __LINE__), lhs, expr)
#define SHIPLOG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
