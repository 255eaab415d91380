// Tests of ledger/clock.h: RFC 3339 times, durations, the fake clock.
#include "ledger/clock.h"

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::FormatDuration;
using shiplog::FormatTime;
using shiplog::kMicrosPerMinute;
using shiplog::kMicrosPerSecond;
using shiplog::ParseDuration;
using shiplog::ParseTime;

constexpr Micros kHour = 60 * kMicrosPerMinute;
constexpr Micros kDay = 24 * kHour;

TEST(ParseTime, Utc) {
  auto t = ParseTime("2026-11-24T18:00:00Z");
  ASSERT_OK(t);
  EXPECT_EQ(*t, kT0);
}

TEST(ParseTime, Epoch) {
  auto t = ParseTime("1970-01-01T00:00:00Z");
  ASSERT_OK(t);
  EXPECT_EQ(*t, 0);
}

TEST(ParseTime, LeapDay) {
  auto t = ParseTime("2000-02-29T23:59:59Z");
  ASSERT_OK(t);
  EXPECT_EQ(*t, 951868799LL * kMicrosPerSecond);
}

TEST(ParseTime, Fraction) {
  auto t = ParseTime("2026-11-24T18:00:00.123456Z");
  ASSERT_OK(t);
  EXPECT_EQ(*t, kT0 + 123456);
  auto ms = ParseTime("2026-11-24T18:00:00.5Z");
  ASSERT_OK(ms);
  EXPECT_EQ(*ms, kT0 + 500000);
}

TEST(ParseTime, Offsets) {
  auto plus = ParseTime("2026-11-24T20:00:00+02:00");
  ASSERT_OK(plus);
  EXPECT_EQ(*plus, kT0);
  auto minus = ParseTime("2026-11-24T12:30:00-05:30");
  ASSERT_OK(minus);
  EXPECT_EQ(*minus, kT0);
  auto zero = ParseTime("2026-11-24T18:00:00+00:00");
  ASSERT_OK(zero);
  EXPECT_EQ(*zero, kT0);
  // An offset that crosses midnight.
  auto late = ParseTime("2026-11-25T09:00:00+15:00");
  ASSERT_OK(late);
  EXPECT_EQ(*late, kT0);
}

TEST(ParseTime, RejectsBadInput) {
  for (const char* bad : {
           "",
           "yesterday",
           "2026-11-24",
           "2026-11-24T18:00:00",  // RFC 3339 needs an offset
           "2026-13-01T00:00:00Z",
           "2026-11-31T00:00:00Z",
           "2026-02-30T00:00:00Z",
           "2026-11-24T25:00:00Z",
           "2026-11-24T18:61:00Z",
           "2026-11-24T18:00:00+2",
           "2026-11-24T18:00:00Zjunk",
           " 2026-11-24T18:00:00Z",
           "1795543200",
       }) {
    auto r = ParseTime(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed as " << (r.ok() ? *r : 0);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(FormatTime, UtcWithoutFractionWhenWhole) {
  EXPECT_EQ(FormatTime(kT0), "2026-11-24T18:00:00Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
}

TEST(FormatTime, MicrosecondsWhenNotZero) {
  EXPECT_EQ(FormatTime(kT0 + 123456), "2026-11-24T18:00:00.123456Z");
}

TEST(FormatTime, RoundTripsThroughParseTime) {
  const std::vector<Micros> times = {
      0,
      kT0,
      kT0 + 1,
      kT0 + 999999,
      kT0 + 14 * kMicrosPerMinute + 12 * kMicrosPerSecond,
      951868799LL * kMicrosPerSecond + 7,
      4102444800LL * kMicrosPerSecond - 1,  // 2099-12-31T23:59:59.999999Z
  };
  for (Micros t : times) {
    const std::string text = FormatTime(t);
    auto back = ParseTime(text);
    ASSERT_OK(back) << text;
    EXPECT_EQ(*back, t) << text;
  }
  for (Micros t = kT0; t < kT0 + 400 * kDay; t += 7 * kHour + 13 * kMicrosPerSecond + 1717) {
    auto back = ParseTime(FormatTime(t));
    ASSERT_OK(back) << FormatTime(t);
    ASSERT_EQ(*back, t) << FormatTime(t);
  }
}

TEST(ParseDuration, Units) {
  const std::vector<std::pair<std::string, Micros>> cases = {
      {"15m", 15 * kMicrosPerMinute},
      {"1h30m", 90 * kMicrosPerMinute},
      {"90s", 90 * kMicrosPerSecond},
      {"500ms", 500 * 1000},
      {"2d", 2 * kDay},
      {"0s", 0},
      {"1h", kHour},
      {"14m12s", 14 * kMicrosPerMinute + 12 * kMicrosPerSecond},
  };
  for (const auto& [text, want] : cases) {
    auto d = ParseDuration(text);
    ASSERT_OK(d) << text;
    EXPECT_EQ(*d, want) << text;
  }
}

TEST(ParseDuration, RejectsBadInput) {
  for (const char* bad : {"", "15", "m", "-5m", "5x", "h1", "1 h", "15m-", "ms"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' parsed as " << (r.ok() ? *r : 0);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(FormatDuration, LargestUnitsFirst) {
  EXPECT_EQ(FormatDuration((14 * 60 + 12) * kMicrosPerSecond), "14m12s");
  EXPECT_EQ(FormatDuration(90 * kMicrosPerSecond), "1m30s");
  EXPECT_EQ(FormatDuration(45 * kMicrosPerSecond), "45s");
}

TEST(FormatDuration, RoundTripsThroughParseDuration) {
  for (Micros d : {Micros{0}, 500 * Micros{1000}, 1500 * Micros{1000}, 15 * kMicrosPerMinute,
                   90 * kMicrosPerMinute, 2 * kDay, 2 * kDay + 3 * kHour + 4 * kMicrosPerMinute + 5,
                   Micros{1}}) {
    const std::string text = FormatDuration(d);
    auto back = ParseDuration(text);
    ASSERT_OK(back) << text;
    EXPECT_EQ(*back, d) << text;
  }
}

TEST(FakeClock, MovesOnlyWhenTold) {
  shiplog::FakeClock clock(kT0);
  EXPECT_EQ(clock.NowMicros(), kT0);
  EXPECT_EQ(clock.NowMicros(), kT0);
  clock.Advance(15 * kMicrosPerMinute);
  EXPECT_EQ(clock.NowMicros(), kT0 + 15 * kMicrosPerMinute);
  clock.Set(kT0 - kHour);
  EXPECT_EQ(clock.NowMicros(), kT0 - kHour);
}

TEST(SystemClock, IsRecent) {
  shiplog::SystemClock clock;
  // After 2025-01-01 and before 2100.
  EXPECT_GT(clock.NowMicros(), 1735689600LL * kMicrosPerSecond);
  EXPECT_LT(clock.NowMicros(), 4102444800LL * kMicrosPerSecond);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
