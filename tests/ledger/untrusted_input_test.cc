// Regression tests for untrusted input into the ledger's decoders (issue 23): $time fields bounded
// to what FormatTime and ParseTime round-trip, an event tree too deep to copy by recursion, and a
// failed Result's value() that stops the process instead of throwing across a layer.
#include <capnp/message.h>
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include "ledger/canonical.h"
#include "ledger/clock.h"
#include "ledger/event.h"
#include "test_util.h"

namespace shiplog_test {
namespace {

using shiplog::FormatTime;
using shiplog::kMicrosPerSecond;
using shiplog::ParseTime;

// The accepted span, written out here so the tests state the contract rather than restate the
// code: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
constexpr Micros kFirst = -62'135'596'800'000'000;
constexpr Micros kLast = 253'402'300'799'999'999;

TEST(TimeBounds, TheFirstAndLastAcceptedTimesRoundTrip) {
  EXPECT_EQ(FormatTime(kFirst), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(kLast), "9999-12-31T23:59:59.999999Z");
  auto first = ParseTime("0001-01-01T00:00:00Z");
  ASSERT_OK(first);
  EXPECT_EQ(*first, kFirst);
  auto last = ParseTime("9999-12-31T23:59:59.999999Z");
  ASSERT_OK(last);
  EXPECT_EQ(*last, kLast);
}

TEST(TimeBounds, YearsBelowAThousandArePaddedToFourDigits) {
  EXPECT_EQ(FormatTime(-59'011'459'200'000'000), "0100-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(TimeBounds, TimesOutsideTheSpanAreRefusedEvenThroughAnOffset) {
  for (const char* text :
       {"0000-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00"}) {
    auto t = ParseTime(text);
    EXPECT_FALSE(t.ok()) << text;
    EXPECT_THAT(t.status().message(), ::testing::HasSubstr("outside the accepted times")) << text;
  }
}

TEST(TimeBounds, ATimeOutsideTheSpanIsFormattedSoThatItIsNotReadBack) {
  const std::string far = FormatTime(1'795'000'000'000'000'000);  // nanoseconds, read as micros
  EXPECT_EQ(far.front(), '+') << far;
  EXPECT_FALSE(ParseTime(far).ok()) << far;
  EXPECT_FALSE(FormatTime(INT64_MIN).empty());
  EXPECT_FALSE(FormatTime(INT64_MAX).empty());
}

RC_GTEST_PROP(TimeBounds, EveryAcceptedTimeRoundTrips, ()) {
  const Micros t = *rc::gen::inRange<Micros>(kFirst, kLast + 1);
  auto back = ParseTime(FormatTime(t));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == t);
}

RC_GTEST_PROP(TimeBounds, EveryAcceptedWholeSecondRoundTripsWithoutAFraction, ()) {
  const Micros t =
      *rc::gen::inRange<Micros>(kFirst / kMicrosPerSecond, kLast / kMicrosPerSecond + 1) *
      kMicrosPerSecond;
  const std::string text = FormatTime(t);
  RC_ASSERT(text.size() == 20u);  // YYYY-MM-DDTHH:MM:SSZ
  auto back = ParseTime(text);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == t);
}

// A maintenance window as canonical bytes, with any Int64 for its end.
std::string WindowBytes(Micros to) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<shiplog::schema::Event>();
  event.setId("w-1");
  event.setActor("ic");
  auto window = event.initBody().initMaintenanceWindow();
  window.setEnvironment("production");
  window.setFrom(kFirst);
  window.setTo(to);
  return shiplog::CanonicalBytes(event.asReader());
}

TEST(TimeBounds, CanonicalEventWithATimeOutsideTheSpanIsRefusedNamingTheField) {
  auto far = shiplog::Event::FromCanonical(WindowBytes(1'795'000'000'000'000'000));
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.status().code(), shiplog::StatusCode::kInvalidArgument);
  EXPECT_THAT(far.status().message(), ::testing::HasSubstr("field 'to'"));
  EXPECT_FALSE(shiplog::Event::FromCanonical(WindowBytes(kLast + 1)).ok());
}

TEST(TimeBounds, CanonicalEventAtTheEdgesOfTheSpanRoundTripsThroughJson) {
  auto event = shiplog::Event::FromCanonical(WindowBytes(kLast));
  ASSERT_OK(event);
  auto again = shiplog::Event::FromJson(event->ToJson());
  ASSERT_OK(again);
  EXPECT_EQ(again->bytes(), event->bytes());
}

TEST(EventDepth, AnInProcessTreeTooDeepToCopyIsRefused) {
  // nlohmann's parser builds this without recursion; copying it would recurse 100,000 deep.
  const size_t depth = 100'000;
  const auto tree = nlohmann::json::parse(R"({"kind":"review","a":)" + std::string(depth, '[') +
                                          std::string(depth, ']') + "}");
  auto event = shiplog::Event::FromJson(tree);
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), shiplog::StatusCode::kInvalidArgument);
  EXPECT_THAT(event.status().message(), ::testing::HasSubstr("nested deeper than 64"));
}

TEST(EventDepth, DeepJsonTextIsRefusedBeforeAnyTreeIsBuilt) {
  const size_t depth = 1'000'000;  // within the size limit given below
  auto parsed =
      shiplog::ParseJsonText(std::string(depth, '[') + std::string(depth, ']'), 4 * depth);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), ::testing::HasSubstr("nested deeper than 64"));
}

TEST(ResultValueDeathTest, ValueOfAFailedResultStopsTheProcessNamingTheStatus) {
  // Not an exception that some far-away handler could mistake for bad input.
  EXPECT_DEATH(
      {
        shiplog::Result<int> failed(shiplog::Status::InvalidArgument("no such thing"));
        (void)failed.value();
      },
      "value\\(\\) of a failed Result: invalid_argument: no such thing");
  EXPECT_DEATH(
      {
        shiplog::Result<std::string> failed(shiplog::Status::NotFound("gone"));
        (void)failed->size();
      },
      "not_found: gone");
}

}  // namespace
}  // namespace shiplog_test
