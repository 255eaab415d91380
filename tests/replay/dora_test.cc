// Tests of replay/dora.h on a history built on a real ledger (RocksDB, enrolled keys, the default
// pack judging every intent, a manual clock set to the times below): six deployments of two apps
// to two environments walked through the whole chain on three days, a rollback inside the window
// and one just outside it, incidents resolved and not, and denied attempts (a request R5 refuses,
// completions R16 refuses). Every expected figure is worked out by hand from the times the test
// sets, never by the code under test.
#include "replay/dora.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "replay_test_util.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::replay_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using replay::ComputeDora;
using replay::DoraArguments;
using replay::DoraQuery;
using replay::ParseDoraArguments;
using ::testing::HasSubstr;

constexpr Micros kMinute = kMicrosPerMinute;
constexpr Micros kHour = 60 * kMinute;

Micros At(const std::string& rfc3339) { return LedgerUnderTest::Must(ParseTime(rfc3339)); }

// One deployment of the history: who it deploys where, and when. The chain runs from the
// request to staging READY in `until_staging_ready`, then staging soaks 16 minutes (R10 wants 15)
// before production starts and is READY, which is watched 16 minutes (R16 wants 15) before the
// deployment completes: its lead time is until_staging_ready + 32 minutes.
struct Planned {
  std::string id;
  std::string app;
  std::string environment;
  Micros requested;
  Micros until_staging_ready;

  Micros production() const { return requested + until_staging_ready + 16 * kMinute; }
  Micros completed() const { return production() + 16 * kMinute; }
};

// Times are UTC. Production starts are outside the peak hours of R18 (09:00-18:00 Amsterdam on
// weekdays, 08:00-17:00 UTC in November) and no production incident is open at one (R6).
//
//   deployment  app       environment    requested     completed     lead time
//   checkout-1  checkout  production     Tue 24 18:00  Tue 24 18:42  42m = 2520 s
//   search-1    search    production     Tue 24 19:00  Tue 24 19:52  52m = 3120 s
//   checkout-2  checkout  production     Wed 25 01:00  Wed 25 02:02  62m = 3720 s
//   search-2    search    production-eu  Wed 25 02:30  Wed 25 03:07  37m = 2220 s
//   checkout-3  checkout  production-eu  Thu 26 05:00  Thu 26 05:42  42m = 2520 s
//   checkout-4  checkout  production     Thu 26 06:00  Thu 26 06:32  32m = 1920 s
const Planned kCheckout1{"checkout-1", "checkout", "production", At("2026-11-24T18:00:00Z"),
                         10 * kMinute};
const Planned kSearch1{"search-1", "search", "production", At("2026-11-24T19:00:00Z"),
                       20 * kMinute};
const Planned kCheckout2{"checkout-2", "checkout", "production", At("2026-11-25T01:00:00Z"),
                         30 * kMinute};
const Planned kSearch2{"search-2", "search", "production-eu", At("2026-11-25T02:30:00Z"),
                       5 * kMinute};
const Planned kCheckout3{"checkout-3", "checkout", "production-eu", At("2026-11-26T05:00:00Z"),
                         10 * kMinute};
const Planned kCheckout4{"checkout-4", "checkout", "production", At("2026-11-26T06:00:00Z"), 0};

// The history, appended once for every test (a few seconds of fsyncs).
class DoraHistory {
 public:
  DoraHistory() : lut_(DefaultPolicy(), kStart, Agents()) {
    Deploy(kCheckout1);
    Deploy(kSearch1);
    // search-1 is rolled back within the window: it failed. An incident in production follows,
    // which would also fail it, but the rollback came first; it fails checkout-1 (the next
    // checkout deployment to production completes only the next day).
    Set("2026-11-24T21:00:00Z");
    search1_rollback_ =
        Allowed("leon", "search-1", {{"kind", "rollback.started"}, {"reason", "5xx"}});
    Set("2026-11-24T21:10:00Z");
    Allowed("leon", "search-1", {{"kind", "rollback.completed"}, {"reason", "restored"}});
    Set("2026-11-24T22:00:00Z");
    inc1_ = Incident("incident.opened", "production", "INC-1");  // resolved in 1h30m
    Set("2026-11-24T23:30:00Z");
    Incident("incident.resolved", "production", "INC-1");

    // checkout-2, with denied attempts around it: a rival deployment of the same app to the same
    // environment (R5: one at a time) and completions before production was watched (R16).
    StartThroughProduction(kCheckout2, [this] {
      Denied("leon", "checkout-rival", testing::ChainRequest("checkout", kImage));
    });
    Denied("leon", "checkout-2", {{"kind", "deploy.completed"}});
    Denied("leon", "checkout-rival", {{"kind", "deploy.completed"}});
    Complete(kCheckout2);

    Deploy(kSearch2);
    // A rollback of search-2 one second after its window closed: not a failure at 24h.
    Set("2026-11-26T03:07:01Z");
    search2_rollback_ =
        Allowed("leon", "search-2", {{"kind", "rollback.started"}, {"reason", "late"}});
    // Opened before checkout-3 completes and after search-2's window: fails neither; unresolved
    // (the resolution below is of another environment's INC-2).
    Set("2026-11-26T04:00:00Z");
    Incident("incident.opened", "production-eu", "INC-2");
    Deploy(kCheckout3);
    Deploy(kCheckout4);
    Set("2026-11-26T07:00:00Z");
    inc3_ = Incident("incident.opened", "production", "INC-3");  // fails checkout-4; 2h
    Set("2026-11-26T08:00:00Z");
    Incident("incident.resolved", "production", "INC-2");
    Set("2026-11-26T09:00:00Z");
    Incident("incident.resolved", "production", "INC-3");
  }

  const Ledger& ledger() { return lut_.ledger(); }
  uint64_t search1_rollback() const { return search1_rollback_; }
  uint64_t search2_rollback() const { return search2_rollback_; }
  uint64_t inc1() const { return inc1_; }
  uint64_t inc3() const { return inc3_; }

 private:
  static std::map<std::string, std::vector<std::string>> Agents() {
    auto agents = testing::ChainAgents();
    agents["ic"] = {"incident-commander"};
    return agents;
  }

  void Set(Micros time) { LedgerUnderTest::Must(lut_.ledger().SetClock(time)); }
  void Set(const std::string& time) { Set(At(time)); }

  Receipt Append(const std::string& agent, const std::string& deployment, json event) {
    event["actor"] = agent;
    if (!deployment.empty()) event["deployment"] = deployment;
    return LedgerUnderTest::Must(lut_.Append(event));
  }
  // Appends an event the policy must allow (a fact, or an intent it allows); its seq.
  uint64_t Allowed(const std::string& agent, const std::string& deployment, json event) {
    Receipt receipt = Append(agent, deployment, std::move(event));
    if (receipt.denied) throw std::runtime_error(deployment + ": denied: " + receipt.decision);
    return receipt.seq;
  }
  void Denied(const std::string& agent, const std::string& deployment, json event) {
    if (!Append(agent, deployment, event).denied) {
      throw std::runtime_error(deployment + ": expected a denial of " + event.dump());
    }
  }
  uint64_t Incident(const std::string& kind, const std::string& environment,
                    const std::string& incident) {
    return Allowed("ic", "",
                   {{"kind", kind},
                    {"environment", environment},
                    {"incident", incident},
                    {"severity", "sev2"}});
  }

  // The chain through production READY; `meanwhile` runs just after the request.
  void StartThroughProduction(const Planned& p, const std::function<void()>& meanwhile = {}) {
    Set(p.requested);
    json request = testing::ChainRequest(p.app, kImage);
    request["environment"] = p.environment;
    testing::WalkToStagingStart(
        [&](const std::string& agent, json event) { Allowed(agent, p.id, std::move(event)); },
        request);
    if (meanwhile) meanwhile();
    Set(p.requested + p.until_staging_ready);
    Allowed("thijmen", p.id, {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    Allowed("otto", p.id, {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", p.id}});
    Set(p.production());
    Allowed("rutger", p.id, {{"kind", "step.started"}, {"step", "production"}});
    Allowed("rutger", p.id,
            {{"kind", "step.reported"}, {"step", "production"}, {"status", "READY"}});
  }
  void Complete(const Planned& p) {
    Set(p.completed());
    Allowed("leon", p.id, {{"kind", "deploy.completed"}});
  }
  void Deploy(const Planned& p) {
    StartThroughProduction(p);
    Complete(p);
  }

  LedgerUnderTest lut_;
  uint64_t search1_rollback_ = 0, search2_rollback_ = 0, inc1_ = 0, inc3_ = 0;
};

// {"count", "median_seconds", "mean_seconds", "p90_seconds"}; all null over nothing.
json LeadTime(int count, json median, json mean, json p90) {
  return {
      {"count", count}, {"median_seconds", median}, {"mean_seconds", mean}, {"p90_seconds", p90}};
}
json Restore(int opened, int resolved, json median, json mean, json p90) {
  return {{"opened", opened},         {"resolved", resolved}, {"unresolved", opened - resolved},
          {"median_seconds", median}, {"mean_seconds", mean}, {"p90_seconds", p90}};
}
json Failure(const std::string& deployment, uint64_t by_seq, const std::string& by_kind) {
  return {{"deployment", deployment}, {"by_seq", by_seq}, {"by_kind", by_kind}};
}
json Metrics(int deployments, double per_day, json lead_time, json failures, json restore) {
  const int failed = static_cast<int>(failures.size());
  return {{"deployments", deployments},
          {"deployments_per_day", per_day},
          {"lead_time", std::move(lead_time)},
          {"change_failure",
           {{"completed", deployments},
            {"failed", failed},
            {"rate", deployments == 0 ? json(nullptr) : json(double(failed) / deployments)},
            {"failures", failures.is_null() ? json::array() : std::move(failures)}}},
          {"time_to_restore", std::move(restore)}};
}

class DoraTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    InitCrypto();
    history_ = new DoraHistory;
  }
  static void TearDownTestSuite() { delete history_; }

  // The three days Tuesday 24 to Thursday 26 November.
  static DoraQuery ThreeDays() {
    DoraQuery query;
    query.since = At("2026-11-24T00:00:00Z");
    query.until = At("2026-11-27T00:00:00Z");
    return query;
  }
  static json Report(const DoraQuery& query) {
    return LedgerUnderTest::Must(ComputeDora(history_->ledger(), query)).ToJson();
  }

  static DoraHistory* history_;
};
DoraHistory* DoraTest::history_ = nullptr;

TEST_F(DoraTest, TheHistoryRanAsPlanned) {
  // The table above, which the figures below are worked out from.
  const std::vector<std::pair<Planned, Micros>> lead_times = {
      {kCheckout1, 42 * kMinute}, {kSearch1, 52 * kMinute},   {kCheckout2, 62 * kMinute},
      {kSearch2, 37 * kMinute},   {kCheckout3, 42 * kMinute}, {kCheckout4, 32 * kMinute}};
  for (const auto& [planned, lead_time] : lead_times) {
    EXPECT_EQ(planned.completed() - planned.requested, lead_time) << planned.id;
  }
  EXPECT_EQ(kCheckout2.completed(), At("2026-11-25T02:02:00Z"));
  QueryFilter denied;
  denied.decision = "denied";
  uint64_t denials = 0;
  ASSERT_TRUE(history_->ledger().QuerySeqs(denied, [&](uint64_t) { return ++denials; }).ok());
  EXPECT_EQ(denials, 3u) << "the rival's request and two early completions";
}

TEST_F(DoraTest, TotalOverThreeDays) {
  const json report = Report(ThreeDays());
  EXPECT_EQ(report["format"], "shiplog-dora-v1");
  EXPECT_EQ(report["since"], "2026-11-24T00:00:00Z");
  EXPECT_EQ(report["until"], "2026-11-27T00:00:00Z");
  EXPECT_EQ(report["window_seconds"], 86400);
  EXPECT_FALSE(report.contains("app"));
  EXPECT_FALSE(report.contains("environment"));
  // Lead times 42m 52m 62m 37m 42m 32m = 2520 3120 3720 2220 2520 1920 s; sorted 1920 2220
  // 2520 2520 3120 3720: median 2520, mean 16020 / 6 = 2670, p90 at rank ceil(5.4) = 6: 3720.
  // Failed: checkout-1 (INC-1), search-1 (its rollback, before INC-1) and checkout-4 (INC-3).
  // Restore: INC-1 1h30m = 5400 s, INC-3 2h = 7200 s, INC-2 unresolved.
  EXPECT_EQ(report["total"],
            Metrics(6, 2.0, LeadTime(6, 2520.0, 2670.0, 3720.0),
                    {Failure("checkout-1", history_->inc1(), "incident.opened"),
                     Failure("search-1", history_->search1_rollback(), "rollback.started"),
                     Failure("checkout-4", history_->inc3(), "incident.opened")},
                    Restore(3, 2, 6300.0, 6300.0, 7200.0)))
      << report["total"].dump(2);
}

TEST_F(DoraTest, EachAppAndEnvironmentIsAGroup) {
  const json groups = Report(ThreeDays())["groups"];
  ASSERT_EQ(groups.size(), 4u) << groups.dump(2);
  auto group = [](const std::string& app, const std::string& environment, json metrics) {
    json g = {{"app", app}, {"environment", environment}};
    g.update(metrics);
    return g;
  };
  // production's incidents: INC-1 (5400 s) and INC-3 (7200 s); production-eu's: INC-2, open.
  const json production = Restore(2, 2, 6300.0, 6300.0, 7200.0);
  const json production_eu = Restore(1, 0, nullptr, nullptr, nullptr);
  // checkout to production: 2520 3720 1920 s, sorted 1920 2520 3720: mean 8160 / 3 = 2720.
  EXPECT_EQ(groups[0], group("checkout", "production",
                             Metrics(3, 1.0, LeadTime(3, 2520.0, 2720.0, 3720.0),
                                     {Failure("checkout-1", history_->inc1(), "incident.opened"),
                                      Failure("checkout-4", history_->inc3(), "incident.opened")},
                                     production)));
  EXPECT_EQ(groups[1], group("checkout", "production-eu",
                             Metrics(1, 1.0 / 3, LeadTime(1, 2520.0, 2520.0, 2520.0), json::array(),
                                     production_eu)));
  EXPECT_EQ(groups[2],
            group("search", "production",
                  Metrics(1, 1.0 / 3, LeadTime(1, 3120.0, 3120.0, 3120.0),
                          {Failure("search-1", history_->search1_rollback(), "rollback.started")},
                          production)));
  EXPECT_EQ(groups[3], group("search", "production-eu",
                             Metrics(1, 1.0 / 3, LeadTime(1, 2220.0, 2220.0, 2220.0), json::array(),
                                     production_eu)));
}

TEST_F(DoraTest, OneEntryPerUtcDayForTheCharts) {
  const json days = Report(ThreeDays())["days"];
  EXPECT_EQ(days, json::parse(R"([
      {"day": "2026-11-24", "deployments": 2, "failed": 2, "lead_time_median_seconds": 2820.0},
      {"day": "2026-11-25", "deployments": 2, "failed": 0, "lead_time_median_seconds": 2970.0},
      {"day": "2026-11-26", "deployments": 2, "failed": 1, "lead_time_median_seconds": 2220.0}
  ])"))
      << days.dump(2);
}

TEST_F(DoraTest, AWiderWindowTakesInTheLateRollback) {
  DoraQuery query = ThreeDays();
  query.window = 25 * kHour;
  const json report = Report(query);
  EXPECT_EQ(report["window_seconds"], 90000);
  EXPECT_EQ(report["total"]["change_failure"]["failures"],
            json({Failure("checkout-1", history_->inc1(), "incident.opened"),
                  Failure("search-1", history_->search1_rollback(), "rollback.started"),
                  Failure("search-2", history_->search2_rollback(), "rollback.started"),
                  Failure("checkout-4", history_->inc3(), "incident.opened")}));
  EXPECT_EQ(report["total"]["change_failure"]["rate"], 4.0 / 6);
}

TEST_F(DoraTest, AnAppFilterKeepsItsDeploymentsAndTheIncidentsOfItsEnvironments) {
  DoraQuery query = ThreeDays();
  query.app = "checkout";
  json report = Report(query);
  EXPECT_EQ(report["app"], "checkout");
  // 2520 3720 2520 1920 s, sorted 1920 2520 2520 3720: median 2520, mean 10680 / 4 = 2670,
  // p90 at rank ceil(3.6) = 4. checkout went to both environments: every incident counts.
  EXPECT_EQ(report["total"], Metrics(4, 4.0 / 3, LeadTime(4, 2520.0, 2670.0, 3720.0),
                                     {Failure("checkout-1", history_->inc1(), "incident.opened"),
                                      Failure("checkout-4", history_->inc3(), "incident.opened")},
                                     Restore(3, 2, 6300.0, 6300.0, 7200.0)));
  EXPECT_EQ(report["groups"].size(), 2u);

  // search on Tuesday alone: search-1, to production only, so INC-1 but not INC-2's environment.
  query.app = "search";
  query.until = At("2026-11-25T00:00:00Z");
  report = Report(query);
  EXPECT_EQ(report["total"],
            Metrics(1, 1.0, LeadTime(1, 3120.0, 3120.0, 3120.0),
                    {Failure("search-1", history_->search1_rollback(), "rollback.started")},
                    Restore(1, 1, 5400.0, 5400.0, 5400.0)));
}

TEST_F(DoraTest, AnEnvironmentFilterKeepsItsDeploymentsAndIncidents) {
  DoraQuery query = ThreeDays();
  query.environment = "production-eu";
  const json report = Report(query);
  EXPECT_EQ(report["environment"], "production-eu");
  // search-2 2220 s and checkout-3 2520 s: median and mean 2370, p90 at rank ceil(1.8) = 2.
  EXPECT_EQ(report["total"], Metrics(2, 2.0 / 3, LeadTime(2, 2370.0, 2370.0, 2520.0), json::array(),
                                     Restore(1, 0, nullptr, nullptr, nullptr)));
  ASSERT_EQ(report["groups"].size(), 2u);
  EXPECT_EQ(report["groups"][0]["app"], "checkout");
  EXPECT_EQ(report["groups"][1]["app"], "search");
  EXPECT_EQ(report["days"][1]["deployments"], 1);  // search-2 on Wednesday

  query.app = "search";
  EXPECT_EQ(Report(query)["total"]["deployments"], 1);
}

TEST_F(DoraTest, APeriodWithNothingHasNullStatistics) {
  DoraQuery query;
  query.since = At("2026-11-20T12:00:00Z");
  query.until = At("2026-11-21T12:00:00Z");
  const json report = Report(query);
  EXPECT_EQ(report["total"], Metrics(0, 0.0, LeadTime(0, nullptr, nullptr, nullptr), json::array(),
                                     Restore(0, 0, nullptr, nullptr, nullptr)));
  EXPECT_EQ(report["groups"], json::array());
  // The period touches two UTC days.
  EXPECT_EQ(report["days"], json::parse(R"([
      {"day": "2026-11-20", "deployments": 0, "failed": 0, "lead_time_median_seconds": null},
      {"day": "2026-11-21", "deployments": 0, "failed": 0, "lead_time_median_seconds": null}
  ])"));
}

TEST_F(DoraTest, OnlyCompletionsInsideThePeriodCount) {
  DoraQuery query;
  query.since = kCheckout2.completed();  // inclusive
  query.until = kCheckout3.completed();  // exclusive
  const json report = Report(query);
  EXPECT_EQ(report["total"]["deployments"], 2) << "checkout-2 and search-2";
  EXPECT_EQ(report["total"]["lead_time"], LeadTime(2, 2970.0, 2970.0, 3720.0));
  EXPECT_EQ(report["total"]["time_to_restore"], Restore(1, 0, nullptr, nullptr, nullptr))
      << "INC-2 only";
}

TEST_F(DoraTest, BadQueriesAreInvalidArguments) {
  DoraQuery query = ThreeDays();
  query.until = query.since;
  EXPECT_EQ(ComputeDora(history_->ledger(), query).status().code(), StatusCode::kInvalidArgument);
  query.until = query.since - kHour;
  EXPECT_EQ(ComputeDora(history_->ledger(), query).status().code(), StatusCode::kInvalidArgument);
  query = ThreeDays();
  query.window = 0;
  EXPECT_EQ(ComputeDora(history_->ledger(), query).status().code(), StatusCode::kInvalidArgument);
  query = ThreeDays();
  query.since = At("2000-01-01T00:00:00Z");
  Status too_long = ComputeDora(history_->ledger(), query).status();
  EXPECT_EQ(too_long.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.message(), HasSubstr("at most 3660 days"));
}

TEST_F(DoraTest, ArgumentsAreParsedAndNamedWhenWrong) {
  const Ledger& ledger = history_->ledger();
  DoraArguments args;
  args.since = {"--since", "2026-11-24T00:00:00Z"};
  args.until = {"--until", ""};
  args.window = {"--window", "90m"};
  args.app = "checkout";
  DoraQuery query = LedgerUnderTest::Must(ParseDoraArguments(args, ledger));
  EXPECT_EQ(query.since, At("2026-11-24T00:00:00Z"));
  EXPECT_EQ(query.until, At("2026-11-26T09:00:01Z")) << "the whole second after the last record";
  EXPECT_EQ(query.window, 90 * kMinute);
  EXPECT_EQ(query.app, "checkout");
  args.window.text = "";
  EXPECT_EQ(LedgerUnderTest::Must(ParseDoraArguments(args, ledger)).window, 24 * kHour);

  auto refused = [&](const DoraArguments& a) {
    Status s = ParseDoraArguments(a, ledger).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    return s.message();
  };
  DoraArguments bad = args;
  bad.since.text = "";
  EXPECT_THAT(refused(bad), HasSubstr("--since is required"));
  bad = args;
  bad.since.text = "yesterday";
  EXPECT_THAT(refused(bad), HasSubstr("--since"));
  bad = args;
  bad.until.text = "2026-11-23T00:00:00Z";
  EXPECT_THAT(refused(bad), HasSubstr("--until 2026-11-23T00:00:00Z is not after --since"));
  bad = args;
  bad.since.text = "2026-12-01T00:00:00Z";
  EXPECT_THAT(refused(bad), HasSubstr("is not before the ledger's time now"));
  bad = args;
  bad.window.text = "3 fortnights";
  EXPECT_THAT(refused(bad), HasSubstr("--window '3 fortnights'"));
  bad.window.text = "0s";
  EXPECT_THAT(refused(bad), HasSubstr("--window must be longer than 0s"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay_test
