// Point-in-time and counterfactual replay on real ledgers built from the default pack's policy
// test timelines (policy/default_tests.yaml): replay must give back, at every sequence number,
// the decision the ledger recorded there.
#include "replay/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "replay/snapshot.h"
#include "tests/replay/replay_test_util.h"

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using replay_test::DefaultPolicy;
using replay_test::DefaultTimelineLedgers;
using replay_test::json;
using replay_test::LedgerUnderTest;
using ::testing::HasSubstr;

std::set<std::string> Rules(const policy::Decision& d) {
  std::set<std::string> rules;
  for (const auto& r : d.reasons) rules.insert(r.rule);
  return rules;
}

// The intent `next` lists for record `r`'s event, if it is one of them.
const NextIntent* Listed(const PointInTime& p, const Event& intent) {
  const json fields = intent.ToJson();
  for (const NextIntent& n : p.next) {
    if (n.kind != intent.kind()) continue;
    if (n.kind == "step.started" && n.step != fields.value("step", "")) continue;
    if (n.kind == "traffic.shifted" && n.weight != fields.value("weight", 0u)) continue;
    return &n;
  }
  return nullptr;
}

// Building the timelines' two dozen ledgers takes a while: once for the suite.
class ReplayTimelines : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new std::vector<std::unique_ptr<LedgerUnderTest>>(DefaultTimelineLedgers());
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  static std::vector<std::unique_ptr<LedgerUnderTest>>* shared_;
};
std::vector<std::unique_ptr<LedgerUnderTest>>* ReplayTimelines::shared_ = nullptr;

TEST_F(ReplayTimelines, EverySeqGivesBackTheRecordedDecision) {
  auto& ledgers = *shared_;
  ASSERT_GE(ledgers.size(), 20u);
  int intents = 0, denials = 0, listed = 0;
  for (auto& l : ledgers) {
    const Ledger& ledger = l->ledger();
    for (uint64_t seq = 1; seq < ledger.size(); ++seq) {
      StoredRecord record = LedgerUnderTest::Must(ledger.Read(seq));
      auto intent = LedgerUnderTest::Must(IntentOf(record));
      if (!intent) continue;
      ++intents;
      denials += record.event.kind() == "policy.denied";
      const policy::Decision recorded = RecordedDecision(record);
      // The fold just before the intent, decided at the intent's ledger time.
      LedgerFold fold = LedgerUnderTest::Must(FoldThrough(ledger, seq - 1, {}));
      ASSERT_NE(fold.engine(), nullptr);
      policy::Decision replayed = fold.engine()->Decide(
          intent->event, fold.RolesOf(intent->public_key), record.ledger_time);
      EXPECT_EQ(replayed.allowed, recorded.allowed) << "seq " << seq << " " << record.decision;
      EXPECT_EQ(Rules(replayed), Rules(recorded)) << "seq " << seq;
      EXPECT_EQ(replayed.ToJson().dump(), json::parse(record.decision).dump()) << "seq " << seq;

      // Point-in-time replay just after the record before: where the intent came at that same
      // ledger time, the decision listed for it is the one recorded.
      const std::string deployment(intent->event.deployment());
      PointInTime p = LedgerUnderTest::Must(ReplayAt(ledger, deployment, Moment::AtSeq(seq - 1), {}));
      EXPECT_EQ(p.seq, seq - 1);
      StoredRecord before = LedgerUnderTest::Must(ledger.Read(seq - 1));
      EXPECT_EQ(p.time, before.ledger_time);
      const NextIntent* n = Listed(p, intent->event);
      if (n && before.ledger_time == record.ledger_time && intent->event.ToJson().value("image", "").empty()) {
        ++listed;
        EXPECT_EQ(n->decision.allowed, recorded.allowed) << "seq " << seq;
        EXPECT_EQ(Rules(n->decision), Rules(recorded)) << "seq " << seq;
      }
    }
  }
  EXPECT_GT(intents, 50);
  EXPECT_GT(denials, 15);
  EXPECT_GT(listed, 20);
}

TEST_F(ReplayTimelines, AtTimeFoldsEveryRecordUpToThatTime) {
  auto& ledgers = *shared_;
  for (auto& l : ledgers) {
    const Ledger& ledger = l->ledger();
    for (uint64_t seq = 0; seq < ledger.size(); ++seq) {
      StoredRecord record = LedgerUnderTest::Must(ledger.Read(seq));
      uint64_t last = LedgerUnderTest::Must(LastSeqAtOrBefore(ledger, record.ledger_time));
      EXPECT_GE(last, seq);
      if (last + 1 < ledger.size()) {
        EXPECT_GT(LedgerUnderTest::Must(ledger.Read(last + 1)).ledger_time, record.ledger_time);
      }
    }
    StoredRecord genesis = LedgerUnderTest::Must(ledger.Read(0));
    EXPECT_EQ(LastSeqAtOrBefore(ledger, genesis.ledger_time - 1).status().code(),
              StatusCode::kNotFound);
  }
}

TEST_F(ReplayTimelines, SamePolicyChangesNothing) {
  auto& ledgers = *shared_;
  uint64_t intents = 0;
  for (auto& l : ledgers) {
    CounterfactualReport report = LedgerUnderTest::Must(
        ReplayUnderPolicy(l->ledger(), DefaultPolicy(), CounterfactualScope{}, {}));
    intents += report.intents;
    for (const ChangedDecision& c : report.changes) ADD_FAILURE() << c.ToJson().dump();
  }
  EXPECT_GT(intents, 50u);
}

TEST_F(ReplayTimelines, StricterSoakFlipsOnlyProductionStartsOnR10) {
  auto& ledgers = *shared_;
  const policy::Policy stricter = replay_test::StricterSoakPolicy();
  int flips = 0, flips_to_deny = 0;
  for (auto& l : ledgers) {
    CounterfactualReport report =
        LedgerUnderTest::Must(ReplayUnderPolicy(l->ledger(), stricter, CounterfactualScope{}, {}));
    EXPECT_EQ(report.policy_sha256, stricter.sha256_hex);
    for (const ChangedDecision& c : report.changes) {
      ++flips;
      EXPECT_EQ(c.kind, "step.started");
      EXPECT_EQ(c.step, "production");
      EXPECT_FALSE(c.now.allowed);
      EXPECT_EQ(c.rules, std::vector<std::string>{"R10"}) << "R10 now fails as well";
      flips_to_deny += c.then.allowed;
    }
  }
  // The R10 boundary test's allow at exactly 15m, at least; denials for other rules that now
  // also fail R10 are changes too (the rules differ), but stay denials.
  EXPECT_GE(flips_to_deny, 1);
  EXPECT_GT(flips, flips_to_deny);
}

// A hand-made history with production starts at 20 minutes (flips) and at 40 minutes (does not).
class CounterfactualTest : public ::testing::Test {
 protected:
  CounterfactualTest()
      : l_(DefaultPolicy(), replay_test::kStart,
           {{"leon", {"coordinator"}}, {"marta", {"merge-approver"}}, {"ci-bot", {"ci"}},
            {"thijmen", {"k8s-operator"}}, {"rutger", {"production-ops"}}, {"otto", {"backup"}}}) {}

  static constexpr const char* kImage =
      "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

  Receipt As(const std::string& who, const std::string& deployment, json event) {
    event["actor"] = who;
    event["deployment"] = deployment;
    return LedgerUnderTest::Must(on_->Append(event));
  }

  // Requested to staging READY; returns the seq of the staging report.
  void UpToStagingReady(const std::string& d, const std::string& app) {
    As("leon", d, {{"kind", "deploy.requested"}, {"app", app}, {"environment", "production"},
                   {"version", "1.0.0"}, {"image", kImage}, {"strategy", "rolling"}, {"risk", "low"},
                   {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
    As("marta", d, {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    for (auto [who, step] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "orchestrate"}, {"ci-bot", "build"}}) {
      As(who, d, {{"kind", "step.started"}, {"step", step}});
      As(who, d, {{"kind", "step.reported"}, {"step", step}, {"status", "READY"}});
    }
    As("ci-bot", d, {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", kImage}});
    As("thijmen", d, {{"kind", "step.started"}, {"step", "staging"}});
    As("thijmen", d, {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    As("otto", d, {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-" + d}});
  }

  // Requested to completed: production started after the soak, READY, watched 16 minutes.
  void UpToCompleted(const std::string& d, const std::string& app) {
    UpToStagingReady(d, app);
    Advance("16m");
    ASSERT_FALSE(As("rutger", d, {{"kind", "step.started"}, {"step", "production"}}).denied);
    As("rutger", d, {{"kind", "step.reported"}, {"step", "production"}, {"status", "READY"}});
    Advance("16m");
    ASSERT_FALSE(As("leon", d, {{"kind", "deploy.completed"}}).denied);
  }

  void Advance(const std::string& by) {
    LedgerUnderTest::Must(on_->ledger().AdvanceClock(LedgerUnderTest::Must(ParseDuration(by))));
  }

  LedgerUnderTest l_;
  LedgerUnderTest* on_ = &l_;  // where As and Advance append
};

TEST_F(CounterfactualTest, ThirtyMinuteSoakDeniesExactlyTheTwentyMinuteStart) {
  UpToStagingReady("fast-1", "checkout");
  UpToStagingReady("slow-1", "search");
  Advance("10m");
  Receipt early = As("rutger", "fast-1", {{"kind", "step.started"}, {"step", "production"}});
  EXPECT_TRUE(early.denied) << "10 minutes is short of 15 under either policy";
  Advance("10m");
  Receipt fast = As("rutger", "fast-1", {{"kind", "step.started"}, {"step", "production"}});
  ASSERT_FALSE(fast.denied);
  Advance("20m");
  Receipt slow = As("rutger", "slow-1", {{"kind", "step.started"}, {"step", "production"}});
  ASSERT_FALSE(slow.denied);

  const policy::Policy stricter = replay_test::StricterSoakPolicy();
  CounterfactualReport all =
      LedgerUnderTest::Must(ReplayUnderPolicy(l_.ledger(), stricter, {}, {}));
  ASSERT_EQ(all.changes.size(), 1u) << all.ToText();
  EXPECT_EQ(all.changes[0].seq, fast.seq);
  EXPECT_EQ(all.changes[0].deployment, "fast-1");
  EXPECT_EQ(all.changes[0].actor, "rutger");
  EXPECT_THAT(all.changes[0].now.reasons[0].message, HasSubstr("staging has been READY for 20m"));
  EXPECT_THAT(all.ToText(), HasSubstr("then allow, now deny; rules that differ: R10"));

  CounterfactualScope only_slow;
  only_slow.deployment = "slow-1";
  EXPECT_TRUE(LedgerUnderTest::Must(ReplayUnderPolicy(l_.ledger(), stricter, only_slow, {}))
                  .changes.empty());
  CounterfactualScope before_fast;
  before_fast.through_seq = fast.seq - 1;
  EXPECT_TRUE(LedgerUnderTest::Must(ReplayUnderPolicy(l_.ledger(), stricter, before_fast, {}))
                  .changes.empty());
  const uint64_t size = l_.ledger().size();
  CounterfactualReport again = LedgerUnderTest::Must(ReplayUnderPolicy(l_.ledger(), stricter, {}, {}));
  EXPECT_EQ(l_.ledger().size(), size) << "nothing is appended";
  EXPECT_EQ(again.ToJson(), all.ToJson());
}

// The history of a team without R18, replayed under the default pack: exactly the production
// start made inside the peak window (Wednesday 09:20 in Amsterdam) flips, not the ones the evening
// before or after.
TEST_F(CounterfactualTest, PeakHoursFlipExactlyTheProductionStartInsideTheWindow) {
  std::string text = DefaultPolicy().source;
  text.erase(text.find("\n  - id: R18"));
  const policy::Policy without = *policy::ParsePolicy(text + "\n", "no-r18.yaml").policy;
  ASSERT_EQ(without.FindRule("R18"), nullptr);
  LedgerUnderTest team(without, replay_test::kStart,  // Tuesday 19:00 in Amsterdam
                       {{"leon", {"coordinator"}}, {"marta", {"merge-approver"}},
                        {"ci-bot", {"ci"}}, {"thijmen", {"k8s-operator"}},
                        {"rutger", {"production-ops"}}, {"otto", {"backup"}}});
  on_ = &team;
  std::vector<Receipt> starts;
  for (const auto& [d, wait] : std::vector<std::pair<std::string, std::string>>{
           {"evening-1", "20m"}, {"peak-1", "14h"}, {"after-1", "9h"}}) {
    UpToStagingReady(d, "app-" + d);
    Advance(wait);
    starts.push_back(As("rutger", d, {{"kind", "step.started"}, {"step", "production"}}));
    ASSERT_FALSE(starts.back().denied) << d;
  }
  CounterfactualReport report =
      LedgerUnderTest::Must(ReplayUnderPolicy(team.ledger(), DefaultPolicy(), {}, {}));
  ASSERT_EQ(report.changes.size(), 1u) << report.ToText();
  EXPECT_EQ(report.changes[0].seq, starts[1].seq);
  EXPECT_EQ(report.changes[0].deployment, "peak-1");
  EXPECT_THAT(report.changes[0].rules, ::testing::ElementsAre("R18"));
  EXPECT_THAT(report.changes[0].now.reasons[0].message,
              HasSubstr("Wed 2026-11-25 09:20 Europe/Amsterdam is inside calendar peak-hours"));
}

TEST_F(CounterfactualTest, ADeniedIntentStaysHistoryUnderALooserPolicy) {
  UpToStagingReady("fast-1", "checkout");
  Advance("10m");
  Receipt early = As("rutger", "fast-1", {{"kind", "step.started"}, {"step", "production"}});
  ASSERT_TRUE(early.denied);
  Advance("1m");
  Receipt completed = As("leon", "fast-1", {{"kind", "deploy.completed"}});
  ASSERT_TRUE(completed.denied);

  // No R10 at all: the early start would now be allowed, yet the deployment's production step
  // stays not started, so deploy.completed is judged against the history that happened.
  std::string text = DefaultPolicy().source;
  text.replace(text.find("older_than: 15m"), 15, "older_than: 0s");
  policy::Policy looser = *policy::ParsePolicy(text, "looser.yaml").policy;
  CounterfactualReport report = LedgerUnderTest::Must(ReplayUnderPolicy(l_.ledger(), looser, {}, {}));
  ASSERT_EQ(report.changes.size(), 1u) << report.ToText();
  EXPECT_EQ(report.changes[0].seq, early.seq);
  EXPECT_TRUE(report.changes[0].now.allowed);
  PointInTime p = LedgerUnderTest::Must(
      ReplayAt(l_.ledger(), "fast-1", Moment::AtSeq(l_.ledger().size() - 1), {}));
  EXPECT_EQ(p.state->steps.count("production"), 0u);
}

TEST_F(CounterfactualTest, PointInTimeShowsStateAndNextDecisions) {
  UpToStagingReady("fast-1", "checkout");
  const uint64_t staging_done = l_.ledger().size() - 1;
  Advance("16m");
  Receipt started = As("rutger", "fast-1", {{"kind", "step.started"}, {"step", "production"}});
  ASSERT_FALSE(started.denied);

  PointInTime at = LedgerUnderTest::Must(
      ReplayAt(l_.ledger(), "fast-1", Moment::AtSeq(staging_done), {}));
  ASSERT_TRUE(at.state);
  EXPECT_EQ(at.state->steps.at("staging").status, policy::StepStatus::kReady);
  EXPECT_EQ(at.state->steps.count("production"), 0u);
  EXPECT_EQ(at.policy_seq, 0u);
  EXPECT_EQ(at.policy_sha256, DefaultPolicy().sha256_hex);
  const json j = at.ToJson();
  bool saw_production = false;
  for (const json& n : j["next"]) {
    if (n.value("step", "") == "production") {
      saw_production = true;
      EXPECT_EQ(n["decision"]["allowed"], false);
      EXPECT_EQ(n["decision"]["reasons"][0]["rule"], "R10");
    }
  }
  EXPECT_TRUE(saw_production);

  // The same moment asked by time gives the same answer; 16 minutes later production is allowed.
  PointInTime by_time = LedgerUnderTest::Must(
      ReplayAt(l_.ledger(), "fast-1", Moment::AtTime(at.time), {}));
  EXPECT_EQ(by_time.ToJson(), j);
  PointInTime later = LedgerUnderTest::Must(
      ReplayAt(l_.ledger(), "fast-1", Moment::AtTime(at.time + 16 * kMicrosPerMinute - 1), {}));
  EXPECT_EQ(later.seq, staging_done) << "no record before the start's own time";
  EXPECT_THAT(later.ToText(), HasSubstr("allow  step.started production"));
  PointInTime after = LedgerUnderTest::Must(
      ReplayAt(l_.ledger(), "fast-1", Moment::AtSeq(started.seq), {}));
  EXPECT_EQ(after.state->steps.at("production").status, policy::StepStatus::kStarted);

  EXPECT_EQ(ReplayAt(l_.ledger(), "nope-1", Moment::AtSeq(1), {}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ReplayAt(l_.ledger(), "fast-1", Moment::AtSeq(l_.ledger().size()), {}).status().code(),
            StatusCode::kNotFound);
  PointInTime before = LedgerUnderTest::Must(ReplayAt(l_.ledger(), "fast-1", Moment::AtSeq(1), {}));
  EXPECT_FALSE(before.state) << "enrolments only: nothing of the deployment yet";
}

// A whole-ledger fold puts a deployment away when it finishes (its memory is the open
// deployments'), and brings it back exactly as it was when a later record names it.
TEST_F(CounterfactualTest, AFinishedDeploymentComesBackWhenALaterRecordNamesIt) {
  ASSERT_NO_FATAL_FAILURE(UpToCompleted("done-1", "checkout"));
  UpToStagingReady("open-1", "search");
  // Snapshots every two records: one lands after done-1 finished and before it is named again.
  ReplayOptions snapshots;
  snapshots.scope = FoldScope::kWholeLedger;
  snapshots.data_dir = l_.data();
  snapshots.snapshot_every = 2;
  LedgerFold before = LedgerUnderTest::Must(FoldThrough(l_.ledger(), l_.ledger().size() - 1, snapshots));
  ASSERT_NE(before.engine(), nullptr);
  EXPECT_EQ(before.engine()->FindDeployment("done-1"), nullptr) << "finished: put away";
  EXPECT_NE(before.engine()->FindDeployment("open-1"), nullptr) << "in progress: kept";

  // Named again after it finished: a fact, then an intent decided on its state.
  Advance("1m");
  As("marta", "done-1", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  Receipt again = As("rutger", "done-1", {{"kind", "step.started"}, {"step", "production"}});
  const uint64_t last = l_.ledger().size() - 1;

  ReplayOptions whole = snapshots;
  whole.snapshot_every = 0;
  // Every intent re-decided under the same policy on the state it was recorded on: the start
  // after completion too, which a fold that had forgotten done-1 would decide differently.
  CounterfactualReport same =
      LedgerUnderTest::Must(ReplayUnderPolicy(l_.ledger(), DefaultPolicy(), {}, {}));
  EXPECT_TRUE(same.changes.empty()) << same.ToText();
  CounterfactualScope before_last;
  before_last.through_seq = last - 1;
  EXPECT_EQ(same.intents, LedgerUnderTest::Must(ReplayUnderPolicy(
                              l_.ledger(), DefaultPolicy(), before_last, {})).intents + 1);
  LedgerFold through = LedgerUnderTest::Must(FoldThrough(l_.ledger(), last - 1, whole));
  const policy::Decision recorded = RecordedDecision(LedgerUnderTest::Must(l_.ledger().Read(last)));
  EXPECT_NE(through.engine()->FindDeployment("done-1"), nullptr) << "brought back by the review";
  PointInTime scoped = LedgerUnderTest::Must(ReplayAt(l_.ledger(), "done-1", Moment::AtSeq(last), {}));
  PointInTime folded = LedgerUnderTest::Must(ReplayAt(l_.ledger(), "done-1", Moment::AtSeq(last), whole));
  ReplayOptions genesis;
  genesis.scope = FoldScope::kWholeLedger;
  PointInTime from_genesis =
      LedgerUnderTest::Must(ReplayAt(l_.ledger(), "done-1", Moment::AtSeq(last), genesis));
  ASSERT_TRUE(scoped.state);
  EXPECT_EQ(scoped.state->status, policy::DeploymentState::Status::kCompleted);
  EXPECT_EQ(folded.ToJson(), scoped.ToJson());
  EXPECT_EQ(from_genesis.ToJson(), scoped.ToJson());
  ASSERT_TRUE(folded.state);
  EXPECT_EQ(folded.state->facts.size(), scoped.state->facts.size());
  EXPECT_EQ(folded.state->facts.back().seq, again.denied ? last - 1 : last)
      << "the review after completion is folded into the state brought back";

  ReplayOptions held = whole;
  held.hold_deployment = "done-1";
  LedgerFold holding = LedgerUnderTest::Must(FoldThrough(l_.ledger(), last - 1, held));
  ASSERT_NE(holding.engine()->FindDeployment("done-1"), nullptr);
  Result<std::optional<RecordedIntent>> intent = IntentOf(LedgerUnderTest::Must(l_.ledger().Read(last)));
  ASSERT_TRUE(intent.ok() && *intent);
  EXPECT_EQ(holding.engine()
                ->Decide((*intent)->event, holding.RolesOf((*intent)->public_key),
                         LedgerUnderTest::Must(l_.ledger().Read(last)).ledger_time)
                .ToJson(),
            recorded.ToJson());
}

// Version 2 snapshots hold every deployment, finished ones too: still read, and a fold restored
// from one puts the finished ones away and decides on exactly as a fold from the genesis. A
// version this binary does not know is refused with a warning.
TEST_F(CounterfactualTest, AVersion2SnapshotHoldingFinishedDeploymentsIsStillRead) {
  ASSERT_NO_FATAL_FAILURE(UpToCompleted("done-1", "checkout"));
  UpToStagingReady("open-1", "search");
  const uint64_t at = l_.ledger().size() - 1;
  LedgerFold everything;  // keeps every deployment, as the folds that wrote version 2 did
  LedgerUnderTest::Must(l_.ledger().Scan(0, [&](const StoredRecord& record) {
    everything.Apply(record);
    return record.seq < at;
  }));
  ASSERT_NE(everything.engine()->FindDeployment("done-1"), nullptr);
  const std::string version2 = replay_test::RewriteSnapshot(
      LedgerUnderTest::Must(EncodeSnapshot(everything, l_.ledger())), 2);
  LedgerUnderTest::Must(SnapshotDir(l_.data()).Write(at, version2));
  Advance("1m");
  As("marta", "done-1", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  const uint64_t last = l_.ledger().size() - 1;

  std::vector<std::string> warnings;
  ReplayOptions from_snapshot;
  from_snapshot.scope = FoldScope::kWholeLedger;
  from_snapshot.data_dir = l_.data();
  from_snapshot.snapshot_every = 0;
  from_snapshot.warn = [&](const std::string& w) { warnings.push_back(w); };
  uint64_t folded = 0;
  from_snapshot.progress = [&](uint64_t n) { folded = n; };
  LedgerFold restored = LedgerUnderTest::Must(FoldThrough(l_.ledger(), last, from_snapshot));
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(folded, last - at) << "folded from the snapshot on";
  LedgerFold genesis = LedgerUnderTest::Must(FoldThrough(l_.ledger(), last, {}));
  EXPECT_EQ(LedgerUnderTest::Must(EncodeSnapshot(restored, l_.ledger())),
            LedgerUnderTest::Must(EncodeSnapshot(genesis, l_.ledger())));
  EXPECT_EQ(LedgerUnderTest::Must(ReplayAt(l_.ledger(), "done-1", Moment::AtSeq(last), from_snapshot))
                .ToJson(),
            LedgerUnderTest::Must(ReplayAt(l_.ledger(), "done-1", Moment::AtSeq(last), {})).ToJson());

  LedgerUnderTest::Must(SnapshotDir(l_.data()).Write(at + 1, replay_test::RewriteSnapshot(version2, 4)));
  warnings.clear();
  LedgerUnderTest::Must(FoldThrough(l_.ledger(), last, from_snapshot));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("is not one of 2..3"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
