// A question about one deployment folds only the records that can bear on it (DeploymentSeqs).
// The property: on random ledgers where deployments share apps, re-request other apps, complete,
// roll back and get waivers, while incidents and maintenance windows come and go, that fold
// answers every point-in-time and counterfactual question exactly as a fold of every record does.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "replay/replay.h"
#include "tests/replay/replay_test_util.h"

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using replay_test::DefaultPolicy;
using replay_test::json;
using replay_test::kActors;
using replay_test::LedgerUnderTest;
using replay_test::RandomEvent;

constexpr int kDeployments = 4;

ReplayOptions Scoped(FoldScope scope) {
  ReplayOptions options;
  options.scope = scope;
  options.snapshot_every = 0;
  return options;
}

// The events of RandomEvent, where any deployment may ask for either of two apps, plus the ones
// that end a deployment or open a window, and waivers of the one-at-a-time rule.
json SharedAppEvent(int minutes) {
  const int n = *rc::gen::inRange(1, kDeployments + 1);
  const int pick = *rc::gen::inRange(0, 13);
  const int step_pick = *rc::gen::inRange(0, 8);
  const std::string d = "d-" + std::to_string(n);
  switch (pick) {
    case 10:
      return {{"kind", "rollback.completed"}, {"actor", "thijmen"}, {"deployment", d},
              {"reason", "error rate"}};
    case 11: {
      const Micros from = replay_test::kStart + *rc::gen::inRange(0, 600) * kMicrosPerMinute;
      return {{"kind", "maintenance.window"}, {"actor", "ic"}, {"environment", "production"},
              {"from", FormatTime(from)}, {"to", FormatTime(from + 60 * kMicrosPerMinute)}};
    }
    case 12:
      return {{"kind", "waiver.granted"}, {"actor", "rm"}, {"deployment", d}, {"rule", "R5"},
              {"reason", "a second train"}};
    default:
      return RandomEvent(pick, n, step_pick, minutes, *rc::gen::element("a1", "a2"));
  }
}

RC_GTEST_PROP(DeploymentFoldProperty, AnswersAsAFoldOfEveryRecord, ()) {
  InitCrypto();
  LedgerUnderTest l(DefaultPolicy(), replay_test::kStart, kActors);
  const int events = *rc::gen::inRange(1, 70);
  for (int i = 0; i < events; ++i) {
    const int minutes = *rc::gen::inRange(0, 40);
    l.Append(SharedAppEvent(minutes));  // denials and refusals are history too
    if (*rc::gen::inRange(0, 3) == 0) {
      LedgerUnderTest::Must(l.ledger().AdvanceClock(minutes * kMicrosPerMinute));
    }
  }
  const Ledger& ledger = l.ledger();
  std::vector<uint64_t> points = {ledger.size() - 1};
  for (int i = 0; i < 3; ++i) points.push_back(*rc::gen::inRange<uint64_t>(0, ledger.size()));

  for (int n = 1; n <= kDeployments; ++n) {
    const std::string d = "d-" + std::to_string(n);
    for (uint64_t point : points) {
      auto one = ReplayAt(ledger, d, Moment::AtSeq(point), Scoped(FoldScope::kDeployment));
      auto all = ReplayAt(ledger, d, Moment::AtSeq(point), Scoped(FoldScope::kWholeLedger));
      RC_ASSERT(one.status().code() == all.status().code());
      if (one.ok()) RC_ASSERT(one->ToJson() == all->ToJson());
    }
    CounterfactualScope scope;
    scope.deployment = d;
    auto one = ReplayUnderPolicy(ledger, replay_test::StricterSoakPolicy(), scope,
                                 Scoped(FoldScope::kDeployment));
    auto all = ReplayUnderPolicy(ledger, replay_test::StricterSoakPolicy(), scope,
                                 Scoped(FoldScope::kWholeLedger));
    RC_ASSERT(one.ok() && all.ok());
    RC_ASSERT(one->ToJson() == all->ToJson());
  }
}

// The fold reads what the deployment's app recorded, not the whole ledger: records of another
// app's deployments stay out.
TEST(DeploymentSeqs, LeavesOutOtherAppsDeployments) {
  InitCrypto();
  LedgerUnderTest l(DefaultPolicy(), replay_test::kStart, kActors);
  for (int n = 1; n <= 3; ++n) {
    for (int pick : {0, 1, 5, 9}) ASSERT_TRUE(l.Append(RandomEvent(pick, n, 0, 0)).ok());
  }
  const Ledger& ledger = l.ledger();
  std::vector<uint64_t> seqs =
      LedgerUnderTest::Must(DeploymentSeqs(ledger, "d-2", ledger.size() - 1));
  std::vector<uint64_t> own;
  for (uint64_t seq = 0; seq < ledger.size(); ++seq) {
    const StoredRecord record = LedgerUnderTest::Must(ledger.Read(seq));
    const std::string deployment(record.event.deployment());
    if (deployment == "d-2" || deployment.empty()) own.push_back(seq);
  }
  EXPECT_EQ(seqs, own);  // genesis, enrolments and d-2's four records
  EXPECT_EQ(seqs.size(), 1 + kActors.size() + 4);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
