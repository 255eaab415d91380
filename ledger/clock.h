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

// "2026-11-24T10:00:00Z" or with a fraction ("...:00.123456Z"); offsets like "+02:00" accepted.
Result<Micros> ParseTime(const std::string& text);

// RFC 3339 in UTC with microseconds only when they are not zero.
std::string FormatTime(Micros t);

// "15m", "1h30m", "90s", "2d", "500ms", "0.5s": a non-negative duration. Units d, h, m, s, ms; each
// number may have a decimal fraction. Reads back everything FormatDuration prints.
Result<Micros> ParseDuration(const std::string& text);

// "14m12s": days, hours, minutes, then seconds with a decimal fraction only when needed
// ("0.5s"); "0s" for zero.
std::string FormatDuration(Micros d);

}  // namespace shiplog
