// Policy calendars: windows read on a time zone's local clock from the system's tz database, so
// they move in UTC with daylight saving time, and the parser's errors for what cannot be a window.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "policy/engine.h"
#include "policy/policy.h"

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kPolicy =
    "shiplog_policy: 1\n"                                       // 1
    "name: calendars\n"                                         // 2
    "roles: {ops: [deploy.requested, step.started]}\n"          // 3
    "chain: [{step: production, owner: ops}]\n"                 // 4
    "calendars:\n"                                              // 5
    "  peak:\n"                                                 // 6
    "    time_zone: Europe/Amsterdam\n"                         // 7
    "    weekly: [{days: mon-fri, from: \"09:00\", to: \"18:00\"}]\n"  // 8
    "  night:\n"                                                // 9
    "    time_zone: Europe/Amsterdam\n"                         // 10
    "    weekly: [{days: [sun], from: \"02:00\", to: \"03:00\"}]\n"  // 11
    "  freeze:\n"                                               // 12
    "    time_zone: Europe/Amsterdam\n"                         // 13
    "    dates: [{from: 2026-12-18, to: 2027-01-04}, {from: \"2027-02-01T17:30\", "
    "to: \"2027-02-02T08:00\"}]\n"                              // 14
    "rules:\n"                                                  // 15
    "  - id: R1\n"                                              // 16
    "    name: not-at-peak\n"                                   // 17
    "    on: {kind: step.started}\n"                            // 18
    "    require: [{outside_calendar: peak}]\n";                // 19

Policy Parsed(const std::string& text) {
  ParseResult parsed = ParsePolicy(text, "c.yaml");
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front().ToString();
  return parsed.policy ? std::move(*parsed.policy) : Policy{};
}

Micros At(const std::string& rfc3339) {
  Result<Micros> t = ParseTime(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

std::vector<std::string> Errors(const std::string& text) {
  std::vector<std::string> out;
  for (const PolicyError& e : ParsePolicy(text, "c.yaml").errors) out.push_back(e.ToString());
  return out;
}

std::string Edit(const std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.substr(0, at) + to + text.substr(at + from.size());
}

TEST(Calendar, WeekdayHoursAreLocalWinterAndSummerAlike) {
  const Policy policy = Parsed(kPolicy);
  const Calendar& peak = policy.calendars.at("peak");
  // Friday 2026-03-27, CET (UTC+1): 09:00-18:00 local is 08:00-17:00 UTC.
  EXPECT_FALSE(peak.Contains(At("2026-03-27T07:59:59Z")));
  EXPECT_TRUE(peak.Contains(At("2026-03-27T08:00:00Z")));
  EXPECT_TRUE(peak.Contains(At("2026-03-27T16:59:59Z")));
  EXPECT_FALSE(peak.Contains(At("2026-03-27T17:00:00Z")));
  // Saturday and Sunday are outside, whatever the hour.
  EXPECT_FALSE(peak.Contains(At("2026-03-28T12:00:00Z")));
  EXPECT_FALSE(peak.Contains(At("2026-03-29T12:00:00Z")));
  // Monday 2026-03-30, CEST (UTC+2) since the spring-forward: 07:00-16:00 UTC.
  EXPECT_FALSE(peak.Contains(At("2026-03-30T06:59:59Z")));
  EXPECT_TRUE(peak.Contains(At("2026-03-30T07:00:00Z")));
  EXPECT_TRUE(peak.Contains(At("2026-03-30T15:59:59Z")));
  EXPECT_FALSE(peak.Contains(At("2026-03-30T16:00:00Z")));
  // And back after the fall-back of Sunday 2026-10-25: Monday is 08:00-17:00 UTC again.
  EXPECT_FALSE(peak.Contains(At("2026-10-26T07:59:59Z")));
  EXPECT_TRUE(peak.Contains(At("2026-10-26T08:00:00Z")));
  EXPECT_TRUE(peak.Contains(At("2026-10-26T16:30:00Z")));
  EXPECT_FALSE(peak.Contains(At("2026-10-26T17:00:00Z")));
}

TEST(Calendar, AnHourTheSpringForwardSkipsNeverOccurs) {
  const Policy policy = Parsed(kPolicy);
  const Calendar& night = policy.calendars.at("night");
  // A Sunday in winter: 02:00-03:00 CET is 01:00-02:00 UTC.
  EXPECT_TRUE(night.Contains(At("2026-03-22T01:30:00Z")));
  // Sunday 2026-03-29: clocks go from 02:00 CET straight to 03:00 CEST at 01:00 UTC.
  EXPECT_FALSE(night.Contains(At("2026-03-29T00:59:59Z")));  // 01:59:59 CET
  EXPECT_FALSE(night.Contains(At("2026-03-29T01:00:00Z")));  // 03:00:00 CEST
  EXPECT_FALSE(night.Contains(At("2026-03-29T01:30:00Z")));
}

TEST(Calendar, AnHourTheFallBackRepeatsIsInsideBothTimes) {
  const Policy policy = Parsed(kPolicy);
  const Calendar& night = policy.calendars.at("night");
  // Sunday 2026-10-25: 02:00-03:00 local happens in CEST (00:00-01:00 UTC), then again in CET
  // (01:00-02:00 UTC): two real hours are inside.
  EXPECT_FALSE(night.Contains(At("2026-10-24T23:59:59Z")));  // 01:59:59 CEST
  EXPECT_TRUE(night.Contains(At("2026-10-25T00:00:00Z")));   // 02:00 CEST
  EXPECT_TRUE(night.Contains(At("2026-10-25T00:59:59Z")));
  EXPECT_TRUE(night.Contains(At("2026-10-25T01:00:00Z")));   // 02:00 CET, the second time
  EXPECT_TRUE(night.Contains(At("2026-10-25T01:59:59Z")));
  EXPECT_FALSE(night.Contains(At("2026-10-25T02:00:00Z")));  // 03:00 CET
  EXPECT_EQ(night.LocalTime(At("2026-10-25T00:30:00Z")), "Sun 2026-10-25 02:30 Europe/Amsterdam");
  EXPECT_EQ(night.LocalTime(At("2026-10-25T01:30:00Z")), "Sun 2026-10-25 02:30 Europe/Amsterdam");
}

TEST(Calendar, DateSpansRunFromTheFirstDaysStartToTheLastDaysEnd) {
  const Policy policy = Parsed(kPolicy);
  const Calendar& freeze = policy.calendars.at("freeze");
  EXPECT_FALSE(freeze.Contains(At("2026-12-17T22:59:59Z")));  // 23:59:59 CET on the 17th
  EXPECT_TRUE(freeze.Contains(At("2026-12-17T23:00:00Z")));   // 00:00 on the 18th
  EXPECT_TRUE(freeze.Contains(At("2027-01-04T22:59:59Z")));   // the 4th, to its last second
  EXPECT_FALSE(freeze.Contains(At("2027-01-04T23:00:00Z")));
  // A span given to the minute: from inclusive, to exclusive.
  EXPECT_FALSE(freeze.Contains(At("2027-02-01T16:29:59Z")));
  EXPECT_TRUE(freeze.Contains(At("2027-02-01T16:30:00Z")));
  EXPECT_TRUE(freeze.Contains(At("2027-02-02T06:59:59Z")));
  EXPECT_FALSE(freeze.Contains(At("2027-02-02T07:00:00Z")));
  std::string window;
  ASSERT_NE(freeze.WindowAt(At("2026-12-24T12:00:00Z"), &window), nullptr);
  EXPECT_EQ(window, "2026-12-18 00:00 to 2027-01-05 00:00");
}

TEST(Calendar, ADecisionInsideTheWindowSaysWhenAndWhichWindow) {
  Engine engine(Parsed(kPolicy));
  const auto request = Event::FromJson({{"kind", "deploy.requested"},
                                        {"id", "r"},
                                        {"actor", "ops"},
                                        {"deployment", "d"},
                                        {"app", "a"},
                                        {"environment", "production"},
                                        {"version", "1"},
                                        {"strategy", "rolling"},
                                        {"risk", "low"},
                                        {"image", "a@sha256:" + std::string(64, 'a')}});
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  engine.Apply(1, At("2026-03-30T06:00:00Z"), *request, {"ops"});
  const auto start = Event::FromJson({{"kind", "step.started"},
                                      {"id", "s"},
                                      {"actor", "ops"},
                                      {"deployment", "d"},
                                      {"step", "production"}});
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  EXPECT_TRUE(engine.Decide(*start, {"ops"}, At("2026-03-30T06:59:00Z")).allowed);
  const Decision inside = engine.Decide(*start, {"ops"}, At("2026-03-30T07:00:00Z"));
  ASSERT_FALSE(inside.allowed);
  EXPECT_EQ(inside.reasons.at(0).message,
            "Mon 2026-03-30 09:00 Europe/Amsterdam is inside calendar peak (Mon,Tue,Wed,Thu,Fri "
            "09:00-18:00)");
}

TEST(CalendarErrors, EachMistakeIsReportedWhereItIsWritten) {
  EXPECT_THAT(Errors(Edit(kPolicy, "Europe/Amsterdam\n    weekly: [{days: mon-fri",
                          "Europe/Amstredam\n    weekly: [{days: mon-fri")),
              ElementsAre(HasSubstr("c.yaml:7:16: unknown time zone 'Europe/Amstredam'")));
  EXPECT_THAT(Errors(Edit(kPolicy, "to: \"18:00\"", "to: \"08:00\"")),
              ElementsAre(HasSubstr("c.yaml:8:49: the window ends (08:00) before it starts")));
  EXPECT_THAT(Errors(Edit(kPolicy, "to: 2027-01-04}", "to: 2026-12-01}")),
              ElementsAre(HasSubstr("c.yaml:14:36: the window ends (2026-12-01) before it starts")));
  EXPECT_THAT(Errors(Edit(kPolicy, "days: mon-fri", "days: mon-fry")),
              ElementsAre(HasSubstr("c.yaml:8:21: unknown day 'fry'")));
  EXPECT_THAT(Errors(Edit(kPolicy, "from: \"09:00\"", "from: \"9am\"")),
              ElementsAre(HasSubstr("c.yaml:8:36: expected a local time of day \"HH:MM\"")));
  EXPECT_THAT(Errors(Edit(kPolicy, "to: 2027-01-04}", "to: 2027-02-30}")),
              ElementsAre(HasSubstr("c.yaml:14:36: expected a local date YYYY-MM-DD")));
  EXPECT_THAT(Errors(Edit(kPolicy, "outside_calendar: peak", "outside_calendar: peek")),
              ElementsAre(HasSubstr(
                  "c.yaml:19:34: calendar 'peek' is not declared under calendars (freeze, night, "
                  "peak)")));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
