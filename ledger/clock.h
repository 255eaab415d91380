// Clock: where ledger time comes from.
//
// Only main() wires the system clock; everything else is handed a Clock, so tests and drills
// control time. Times are microseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <string>

#include "ledger/status.h"

namespace shiplog {

using Micros = int64_t;

constexpr Micros kMicrosPerSecond = 1'000'000;
constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros NowMicros() = 0;
};

// The machine's real-time clock.
class SystemClock final : public Clock {
 public:
  Micros NowMicros() override;
};

// A clock that moves only when told to; for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Micros start) : now_(start) {}
  Micros NowMicros() override { return now_; }
  void Advance(Micros by) { now_ += by; }
  void Set(Micros to) { now_ = to; }

 private:
  Micros now_;
};

// The times shiplog accepts from outside: the years 0001 to 9999 in UTC, the span that RFC 3339's
// four-digit year can write. Every $time field of an event is checked against it on the way in,
// so FormatTime and ParseTime round-trip every stored time.
constexpr Micros kMinTime = -62'135'596'800'000'000;  // 0001-01-01T00:00:00Z
constexpr Micros kMaxTime = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999Z
constexpr bool IsAcceptedTime(Micros t) { return t >= kMinTime && t <= kMaxTime; }

// "2026-11-24T10:00:00Z" or with a fraction ("...:00.123456Z", digits past the sixth dropped);
// offsets like "+02:00" accepted. Refuses a time outside kMinTime..kMaxTime (after the offset).
Result<Micros> ParseTime(const std::string& text);

// RFC 3339 in UTC with microseconds only when they are not zero. ParseTime(FormatTime(t)) == t
// for every accepted t. A time outside the accepted span (never from a validated event) is
// written with a signed, longer year ("+10000-01-01T00:00:00Z"), which ParseTime refuses.
std::string FormatTime(Micros t);

// "15m", "1h30m", "90s", "2d", "500ms", "0.5s": a non-negative duration. Units d, h, m, s, ms; each
// number may have a decimal fraction. Reads back everything FormatDuration prints.
Result<Micros> ParseDuration(const std::string& text);

// "14m12s": days, hours, minutes, then seconds with a decimal fraction only when needed
// ("0.5s"); "0s" for zero.
std::string FormatDuration(Micros d);

}  // namespace shiplog
