// Regression tests for untrusted input into the ledger's decoders (issue 23): $time fields bounded
// to what FormatTime and ParseTime round-trip, an event tree too deep to copy by recursion, and a
// failed Result's value() that stops the process instead of throwing across a layer.
#include <capnp/message.h>
#include <kj/exception.h>
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "ledger/canonical.h"
#include "ledger/clock.h"
#include "ledger/event.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

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

// A new event in `message` with its id, actor and deployment set; the caller writes its body.
shiplog::schema::Event::Builder NewEvent(capnp::MallocMessageBuilder& message, const char* id,
                                         const char* actor) {
  auto event = message.initRoot<shiplog::schema::Event>();
  event.setId(id);
  event.setActor(actor);
  event.setDeployment("checkout-1");
  return event;
}

TEST(CanonicalEvent, BitsNoFieldOwnsAreRefused) {
  // Found by event_fuzz: a byte set in the padding of the root's data section (after the body's
  // discriminant) still read as the same event, but no JSON form could give those bytes back.
  auto event = shiplog::Event::FromJson({{"kind", "traffic.shifted"},
                                         {"id", "shift-1"},
                                         {"actor", "rutger"},
                                         {"deployment", "checkout-1"},
                                         {"weight", 25}});
  ASSERT_OK(event);
  std::string bytes(event->bytes());
  ASSERT_EQ(bytes[15], '\0');  // the last byte of the root's one data word
  bytes[15] = 0x6a;
  auto padded = shiplog::Event::FromCanonical(bytes);
  ASSERT_FALSE(padded.ok());
  EXPECT_EQ(padded.status().code(), shiplog::StatusCode::kInvalidArgument);
  EXPECT_THAT(padded.status().message(), ::testing::HasSubstr("no field of the schema owns"));
  // The ledger's reads of its own records skip that comparison (the append made it); they still
  // validate every field, and Verify still compares (DecodeRecord with EventCheck::kFull).
  auto own = shiplog::Event::FromCheckedCanonical(bytes);
  ASSERT_OK(own);
  EXPECT_EQ(own->ToJson(), event->ToJson());
  std::string bad_id(event->bytes());
  const size_t id_at = bad_id.find("shift-1");
  ASSERT_NE(id_at, std::string::npos);
  bad_id[id_at] = ' ';
  auto invalid = shiplog::Event::FromCheckedCanonical(bad_id);
  ASSERT_FALSE(invalid.ok());
  EXPECT_THAT(invalid.status().message(), ::testing::HasSubstr("field 'id'"));
}

TEST(CanonicalEvent, GateMetricsAreOnePerNameInNameOrder) {
  // Found by event_fuzz: the JSON form is an object, so unordered or repeated names could not be
  // given back.
  for (const auto& names : std::vector<std::vector<std::string>>{{"b", "a"}, {"a", "a"}}) {
    capnp::MallocMessageBuilder message;
    auto event = NewEvent(message, "gate-1", "ci-bot");
    auto gate = event.initBody().initGateResult();
    gate.setGate("analysis");
    gate.setOutcome(shiplog::schema::Outcome::PASS);
    auto metrics = gate.initMetrics(2);
    for (unsigned i = 0; i < 2; ++i) {
      metrics[i].setName(names[i]);
      metrics[i].setValue(1.0);
    }
    auto decoded = shiplog::Event::FromCanonical(shiplog::CanonicalBytes(event.asReader()));
    ASSERT_FALSE(decoded.ok()) << names[0] << names[1];
    EXPECT_THAT(decoded.status().message(), ::testing::HasSubstr("repeated or out of order"));
  }
}

TEST(CanonicalEvent, AnEmptyTextWrittenAsPresentIsRefusedAndFromBuilderDropsIt) {
  capnp::MallocMessageBuilder message;
  auto event = NewEvent(message, "rep-1", "thijmen");
  auto report = event.initBody().initStepReported();
  report.setStep("staging");
  report.setStatus(shiplog::schema::ReportStatus::READY);
  report.setDetails("");  // a non-null empty text: the JSON form has no way to say it
  EXPECT_FALSE(shiplog::Event::FromCanonical(shiplog::CanonicalBytes(event.asReader())).ok());
  auto built = shiplog::Event::FromBuilder(event.asReader());
  ASSERT_OK(built);
  auto again = shiplog::Event::FromJson(built->ToJson());
  ASSERT_OK(again);
  EXPECT_EQ(again->bytes(), built->bytes());
}

// ParseInPlace reads bytes on a word boundary where they lie, copies others, and accepts and
// refuses exactly what Parse does.
TEST(CanonicalMessage, InPlaceReadsAlignedBytesWhereTheyLieAndAnswersAsParseDoes) {
  capnp::MallocMessageBuilder builder;
  auto event = builder.initRoot<shiplog::schema::Event>();
  event.setId("e-1");
  event.setActor("deployer");
  const std::string deployment = "checkout-" + std::string(600, 'd');  // past the 64-word slack
  event.setDeployment(deployment);
  const std::string bytes = shiplog::CanonicalBytes(event.asReader());
  constexpr size_t kLimit = 1 << 20;

  const std::string aligned = bytes;  // on the heap, so on a word boundary
  ASSERT_EQ(reinterpret_cast<uintptr_t>(aligned.data()) % alignof(capnp::word), 0u);
  auto in_place = shiplog::CanonicalMessage::ParseInPlace(aligned, kLimit);
  ASSERT_OK(in_place);
  EXPECT_EQ(in_place->bytes().data(), aligned.data());
  EXPECT_EQ(in_place->Root<shiplog::schema::Event>().getDeployment(), deployment);

  const std::string shifted = "x" + bytes;
  const std::string_view unaligned(shifted.data() + 1, bytes.size());
  auto copied = shiplog::CanonicalMessage::ParseInPlace(unaligned, kLimit);
  ASSERT_OK(copied);
  EXPECT_NE(copied->bytes().data(), unaligned.data());
  EXPECT_EQ(copied->bytes(), bytes);
  EXPECT_EQ(copied->Root<shiplog::schema::Event>().getActor(), "deployer");

  size_t refused = 0;
  for (size_t bit = 0; bit < 8 * bytes.size(); ++bit) {
    const std::string flipped = FlipBit(bytes, bit);
    auto parsed = shiplog::CanonicalMessage::Parse(flipped, kLimit);
    auto read_in_place = shiplog::CanonicalMessage::ParseInPlace(flipped, kLimit);
    ASSERT_EQ(parsed.ok(), read_in_place.ok()) << "bit " << bit;
    if (!parsed.ok()) {
      ++refused;
      EXPECT_EQ(parsed.status().message(), read_in_place.status().message()) << "bit " << bit;
    } else {
      EXPECT_EQ(read_in_place->bytes(), parsed->bytes());
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_FALSE(shiplog::CanonicalMessage::ParseInPlace(aligned, aligned.size() - 1).ok());
}

// Whether canonical bytes carry data no field owns is decided from each struct's layout; the
// reference is the one canonical form made by copying every known field. The two must agree on
// every event that parses as canonical and validates: every single-bit flip and thousands of
// random byte changes of every kind's example, and events built with the shapes the JSON form
// cannot say (an empty list or text written as present, a missing list element).
class LayoutCheckAgreement {
 public:
  void Check(std::string_view bytes) {
    auto message = shiplog::CanonicalMessage::Parse(bytes, shiplog::kMaxEventBytes);
    if (!message.ok()) return;
    shiplog::Status validated;
    shiplog::schema::Event::Reader root;
    if (kj::runCatchingExceptions([&] {
          root = message->Root<shiplog::schema::Event>();
          validated = shiplog::ValidateEvent(root);
        }) != nullptr ||
        !validated.ok()) {
      return;
    }
    const auto by_layout = shiplog::internal::CheckOnlyKnownFieldsByLayout(root, bytes);
    const auto by_copy = shiplog::internal::CheckOnlyKnownFieldsByCopy(root, bytes);
    EXPECT_EQ(by_layout.ok(), by_copy.ok())
        << shiplog::HexEncode(bytes) << "\nlayout: " << by_layout.ToString()
        << "\ncopy: " << by_copy.ToString();
    ++compared;
    if (!by_copy.ok()) ++refused;
  }

  size_t compared = 0, refused = 0;
};

TEST(CanonicalEvent, TheLayoutCheckAgreesWithTheCanonicalCopy) {
  std::vector<nlohmann::json> events = AllKindExamples();
  nlohmann::json gate = GateResultJson("ci-bot");
  gate["metrics"] = {{"error_rate", 0.5}, {"p99_ms", 120.0}, {"zero", 0.0}};
  events.push_back(gate);
  nlohmann::json request = DeployRequestedJson("leon");
  request["planned_steps"] = {"build", "", "production"};  // an empty element is written
  events.push_back(request);

  LayoutCheckAgreement agreement;
  std::mt19937_64 random(20261206);
  for (const nlohmann::json& j : events) {
    SCOPED_TRACE(j.dump());
    const std::string bytes(MakeEvent(j).bytes());
    agreement.Check(bytes);
    for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
      std::string mutant = bytes;
      mutant[bit / 8] = static_cast<char>(mutant[bit / 8] ^ (1 << (bit % 8)));
      agreement.Check(mutant);
    }
    for (int i = 0; i < 2000; ++i) {
      std::string mutant = bytes;
      for (int changes = 1 + static_cast<int>(random() % 3); changes > 0; --changes) {
        const uint64_t r = random();
        mutant[r % mutant.size()] = static_cast<char>(r % 3 == 0 ? 0 : r % 3 == 1 ? 0xff : r >> 32);
      }
      agreement.Check(mutant);
    }
  }

  // Shapes the JSON form cannot say, built directly.
  auto request_with = [&](auto shape) {
    capnp::MallocMessageBuilder message;
    auto event = NewEvent(message, "req-1", "leon");
    auto body = event.initBody().initDeployRequested();
    body.setApp("checkout");
    body.setEnvironment("production");
    body.setVersion("1");
    body.setImage("registry.example/checkout@sha256:0123");
    body.setStrategy(shiplog::schema::Strategy::ROLLING);
    body.setRisk(shiplog::schema::Risk::LOW);
    shape(event, body);
    return shiplog::CanonicalBytes(event.asReader());
  };
  using Event = shiplog::schema::Event;
  using Request = shiplog::schema::DeployRequested;
  const std::vector<std::string> shapes = {
      request_with([](Event::Builder, Request::Builder) {}),
      request_with([](Event::Builder, Request::Builder r) { r.initPlannedSteps(0); }),
      request_with([](Event::Builder, Request::Builder r) { r.initPlannedSteps(2).set(0, "a"); }),
      request_with([](Event::Builder, Request::Builder r) { r.initPlannedSteps(1).set(0, ""); }),
      request_with([](Event::Builder, Request::Builder r) { r.initChanges(); }),
      request_with([](Event::Builder, Request::Builder r) { r.initSource().setCommit(""); }),
      request_with([](Event::Builder e, Request::Builder) { e.setDeployment(""); }),
  };
  for (const std::string& shape : shapes) agreement.Check(shape);

  // Both answers were exercised, on many events.
  EXPECT_GT(agreement.compared, 5000u);
  EXPECT_GT(agreement.refused, 100u);
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

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
