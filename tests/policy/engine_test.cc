// The policy engine on the default pack, rule by rule at its boundaries, without a ledger: a
// scripted timeline appends events at chosen ledger times, the way the ledger's sequencer would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "policy/engine.h"

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr Micros kT0 = 1795543200LL * kMicrosPerSecond;  // 2026-11-24T18:00:00Z, after peak hours (R18)
const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kDeployment = "checkout-1";

Policy DefaultPolicy() {
  ParseResult parsed = ParsePolicy(DefaultPolicyText(), "default.yaml");
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front().ToString();
  return std::move(*parsed.policy);
}

// The people of seeds 000 and 001, each in one role of the default pack.
const std::map<std::string, std::vector<std::string>> kRoles = {
    {"leon", {"coordinator"}},          {"marta", {"merge-approver"}},
    {"boris", {"dba"}},                 {"arjan", {"infra"}},
    {"ci-bot", {"ci"}},                 {"thijmen", {"k8s-operator"}},
    {"rutger", {"production-ops"}},     {"victoria", {"security-reviewer"}},
    {"otto", {"backup"}},               {"hans", {"blast-radius-approver"}},
    {"ic", {"incident-commander"}},     {"rm", {"release-manager"}},
    {"stef", {"network"}},              {"karel", {"edge"}},
    {"anne", {"account-manager"}},
};

// A timeline: appends events as the ledger would (authority, decision, fold) at a clock it moves.
class Timeline {
 public:
  Timeline() : engine_(DefaultPolicy()) {}

  // Appends `e` by `actor`; returns the decision (an allow for facts). A denied intent is not
  // folded in, as the ledger records a denial instead. Authority failures fail the test.
  Decision Append(const std::string& actor, json e) {
    Event event = Build(actor, std::move(e));
    Status authority = engine_.CheckAuthority(event, kRoles.at(actor));
    EXPECT_TRUE(authority.ok()) << authority.ToString();
    Decision d = engine_.Decide(event, kRoles.at(actor), now_);
    if (d.allowed) engine_.Apply(++seq_, now_, event, kRoles.at(actor));
    return d;
  }

  Status Authority(const std::string& actor, json e) {
    return engine_.CheckAuthority(Build(actor, std::move(e)), kRoles.at(actor));
  }

  void Advance(Micros by) { now_ += by; }
  uint64_t last_seq() const { return seq_; }
  const Engine& engine() const { return engine_; }

  // A deployment requested, merged, orchestrated, built, scanned and READY in staging at now.
  void UpToStagingReady(json changes = json::object(), std::string risk = "low",
                        json planned = {"orchestrate", "build", "staging", "production"}) {
    Request(changes, risk, planned);
    Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    RunStep("leon", "orchestrate");
    RunStep("ci-bot", "build");
    Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
    RunStep("thijmen", "staging");
  }

  void Request(json changes = json::object(), std::string risk = "low",
               json planned = {"orchestrate", "build", "staging", "production"},
               const std::string& deployment = kDeployment) {
    Decision d = Append("leon", {{"kind", "deploy.requested"}, {"deployment", deployment},
                                 {"app", "checkout"}, {"environment", "production"},
                                 {"version", "1.4.2"}, {"image", kImage},
                                 {"strategy", "rolling"}, {"risk", risk},
                                 {"changes", changes}, {"planned_steps", planned}});
    EXPECT_TRUE(d.allowed) << d.ToJson().dump();
  }

  void RunStep(const std::string& actor, const std::string& step) {
    Decision d = Start(actor, step);
    EXPECT_TRUE(d.allowed) << step << ": " << d.ToJson().dump();
    Report(actor, step, "READY");
  }

  Decision Start(const std::string& actor, const std::string& step, const std::string& image = "") {
    json e = {{"kind", "step.started"}, {"step", step}};
    if (!image.empty()) e["image"] = image;
    return Append(actor, e);
  }

  void Report(const std::string& actor, const std::string& step, const std::string& status) {
    Append(actor, {{"kind", "step.reported"}, {"step", step}, {"status", status}});
  }

 private:
  Event Build(const std::string& actor, json e) {
    e["actor"] = actor;
    e["id"] = "e" + std::to_string(++ids_);
    const std::string kind = e["kind"];
    bool environment_wide = kind == "incident.opened" || kind == "incident.resolved" ||
                            kind == "maintenance.window";
    if (!environment_wide && !e.contains("deployment")) e["deployment"] = kDeployment;
    auto event = Event::FromJson(e);
    EXPECT_TRUE(event.ok()) << event.status().ToString() << " " << e.dump();
    return std::move(event).value();
  }

  Engine engine_;
  Micros now_ = kT0;
  uint64_t seq_ = 0;
  int ids_ = 0;
};

// The one failing rule's id, or "" when allowed.
std::string DeniedBy(const Decision& d) {
  if (d.allowed) return "";
  std::string ids;
  for (const Reason& r : d.reasons) ids += (ids.empty() ? "" : ",") + r.rule;
  return ids;
}

TEST(DefaultPackTest, HappyPathReachesProductionWithEvidence) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(15 * kMicrosPerMinute);
  Decision d = t.Start("rutger", "production");
  ASSERT_TRUE(d.allowed) << d.ToJson().dump();
  std::map<std::string, std::vector<uint64_t>> evidence;
  for (const Evidence& e : d.evidence) evidence[e.rule] = e.events;
  EXPECT_EQ(evidence.count("R10"), 1u);
  EXPECT_EQ(evidence.count("R12"), 1u);
  EXPECT_EQ(evidence.count("R13"), 1u);
  EXPECT_FALSE(evidence["R10"].empty());
  EXPECT_EQ(d.policy_sha256, t.engine().policy().sha256_hex);
}

// The gate stores each decision as ToJsonText, written without building the JSON value: it must
// be ToJson printed, byte for byte, for real decisions (an allow with evidence, a denial) and for
// every shape of field (a waiver, escapes, non-ASCII, empty lists).
TEST(DecisionJsonTest, JsonTextIsItsJsonValuePrinted) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  const Decision denied = t.Start("rutger", "production");  // before the soak: R10
  ASSERT_FALSE(denied.allowed);
  t.Advance(15 * kMicrosPerMinute);
  const Decision allowed = t.Start("rutger", "production");
  ASSERT_TRUE(allowed.allowed) << allowed.ToJson().dump();
  ASSERT_FALSE(allowed.evidence.empty());

  std::vector<std::pair<std::string, Decision>> cases = {{"denied", denied},
                                                         {"allowed", allowed}};
  Decision waived = allowed;
  waived.evidence.front().waiver = Waiver{42, "rm \"release\"", "hotfix\n\t\x01 ü — 🚀"};
  cases.emplace_back("a waiver", waived);
  Decision odd;
  odd.allowed = false;
  odd.reasons.push_back({"R\\4", "quote\"d", std::string("nul\0in", 6), {}});
  odd.reasons.push_back({"", "", "\x7f\b\f\r", {0, 18446744073709551615ull}});
  odd.evidence.push_back({"R1", "", {}, std::nullopt});
  cases.emplace_back("escapes, empty lists, extreme numbers", odd);
  cases.emplace_back("nothing at all", Decision{});
  for (const auto& [what, d] : cases) {
    EXPECT_EQ(d.ToJsonText(), d.ToJson().dump()) << what;
  }
}

TEST(DefaultPackTest, R10StagingSoakBoundary) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(14 * kMicrosPerMinute + 59 * kMicrosPerSecond);
  Decision early = t.Start("rutger", "production");
  EXPECT_EQ(DeniedBy(early), "R10");
  ASSERT_FALSE(early.reasons.empty());
  EXPECT_EQ(early.reasons[0].name, "staging-soak");
  EXPECT_THAT(early.reasons[0].message,
              HasSubstr("staging has been READY for 14m59s"));
  EXPECT_THAT(early.reasons[0].message, HasSubstr("the policy needs 15m"));
  t.Advance(kMicrosPerSecond);
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
}

TEST(DefaultPackTest, R10FailureAfterReadyRestartsTheSoak) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(10 * kMicrosPerMinute);
  t.Report("thijmen", "staging", "FAILED");
  t.Advance(10 * kMicrosPerMinute);
  Decision after_failure = t.Start("rutger", "production");
  EXPECT_FALSE(after_failure.allowed);
  t.Report("thijmen", "staging", "READY");
  t.Advance(14 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R10");
  t.Advance(kMicrosPerMinute);
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
}

TEST(DefaultPackTest, R1ChainOrderAndR2Halt) {
  Timeline t;
  t.Request();
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  EXPECT_EQ(DeniedBy(t.Start("ci-bot", "build")), "R1");  // orchestrate is not READY yet
  t.RunStep("leon", "orchestrate");
  EXPECT_TRUE(t.Start("ci-bot", "build").allowed);
  t.Report("ci-bot", "build", "BLOCKED");
  Decision halted = t.Start("thijmen", "staging");
  EXPECT_THAT(DeniedBy(halted), HasSubstr("R2"));
  EXPECT_TRUE(t.Start("ci-bot", "build").allowed) << "the halted step's owner may run it again";
  t.Report("ci-bot", "build", "READY");
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
  EXPECT_TRUE(t.Start("thijmen", "staging").allowed) << "the chain resumes once READY";
}

TEST(DefaultPackTest, R3OwnerIsAnAuthorityCheck) {
  Timeline t;
  t.Request();
  Status s = t.Authority("leon", {{"kind", "step.started"}, {"step", "production"}});
  EXPECT_EQ(s.code(), StatusCode::kForbidden);
  EXPECT_THAT(s.message(), HasSubstr("R3"));
  EXPECT_THAT(s.message(), HasSubstr("production-ops"));
  EXPECT_EQ(t.Authority("marta", {{"kind", "deploy.completed"}}).code(), StatusCode::kForbidden);
}

TEST(DefaultPackTest, R4MergeApprovedByAMergeApprover) {
  Timeline t;
  t.Request();
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4");
  t.Append("victoria", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4") << "a review by the wrong role";
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "rejected"}});
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4");
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  EXPECT_TRUE(t.Start("leon", "orchestrate").allowed);
}

// A fact must pass every test of the match: here the one approval is for another subject, and
// the merge reviews are rejections (a decision looks facts up by the shortest value-index list
// and must still check the other tests).
TEST(DefaultPackTest, R4AnApprovalOfAnotherSubjectDoesNotCount) {
  Timeline t;
  t.Request();
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "rejected"}});
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "rejected"}});
  t.Append("marta", {{"kind", "review"}, {"subject", "security"}, {"verdict", "approved"}});
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4");
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  EXPECT_TRUE(t.Start("leon", "orchestrate").allowed);
}

TEST(DefaultPackTest, R5OneDeploymentAtATime) {
  Timeline t;
  t.Request();
  Decision second = t.Append("leon", {{"kind", "deploy.requested"}, {"deployment", "checkout-2"},
                                      {"app", "checkout"}, {"environment", "production"},
                                      {"version", "1.4.3"}, {"image", kImage},
                                      {"strategy", "rolling"}, {"risk", "low"}});
  EXPECT_EQ(DeniedBy(second), "R5");
  EXPECT_THAT(second.reasons[0].message, HasSubstr("checkout-1"));
  t.Append("leon", {{"kind", "rollback.started"}, {"reason", "abandon"}});
  t.Append("leon", {{"kind", "rollback.completed"}, {"reason", "abandon"}});
  t.Request(json::object(), "low", {"orchestrate"}, "checkout-2");
}

TEST(DefaultPackTest, R6NoProductionDuringAnIncident) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Append("ic", {{"kind", "incident.opened"}, {"environment", "production"}, {"incident", "INC-7"}});
  t.Advance(20 * kMicrosPerMinute);
  Decision d = t.Start("rutger", "production");
  EXPECT_EQ(DeniedBy(d), "R6");
  EXPECT_THAT(d.reasons[0].message, HasSubstr("INC-7"));
  t.Append("ic", {{"kind", "incident.resolved"}, {"environment", "production"}, {"incident", "INC-7"}});
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
}

TEST(DefaultPackTest, R7ReversibleMigrationAndBackupForDestructive) {
  json planned = {"orchestrate", "db-migration"};
  {
    Timeline t;
    t.Request({{"db_migration", "additive"}}, "low", planned);
    t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    t.RunStep("leon", "orchestrate");
    EXPECT_EQ(DeniedBy(t.Start("boris", "db-migration")), "R7");
  }
  {
    Timeline t;
    t.Request({{"db_migration", "additive"}, {"recovery_doc", "runbooks/restore.md"}}, "low",
              planned);
    t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    t.RunStep("leon", "orchestrate");
    EXPECT_TRUE(t.Start("boris", "db-migration").allowed);
  }
  {
    Timeline t;
    t.Request({{"db_migration", "destructive"}, {"reversible", true}}, "low", planned);
    t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    t.RunStep("leon", "orchestrate");
    Decision d = t.Start("boris", "db-migration");
    EXPECT_EQ(DeniedBy(d), "R7");
    EXPECT_THAT(d.reasons[0].message, HasSubstr("backup.verified"));
    t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-2"}});
    EXPECT_TRUE(t.Start("boris", "db-migration").allowed);
  }
}

TEST(DefaultPackTest, R8BlastRadiusAboveFiveResources) {
  json planned = {"orchestrate", "infrastructure"};
  for (int resources : {5, 6}) {
    Timeline t;
    t.Request({{"infra", true}, {"resources_changed", resources}}, "low", planned);
    t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    t.RunStep("leon", "orchestrate");
    Decision d = t.Start("arjan", "infrastructure");
    EXPECT_EQ(DeniedBy(d), resources == 5 ? "" : "R8") << resources;
    if (resources == 6) {
      t.Append("hans", {{"kind", "review"}, {"subject", "blast-radius"}, {"verdict", "approved"}});
      EXPECT_TRUE(t.Start("arjan", "infrastructure").allowed);
    }
  }
}

TEST(DefaultPackTest, R9PinnedImageAndScan) {
  Timeline t;
  t.Request();
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  t.RunStep("leon", "orchestrate");
  t.RunStep("ci-bot", "build");
  EXPECT_EQ(DeniedBy(t.Start("thijmen", "staging")), "R9") << "no scan yet";
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
  Decision latest = t.Start("thijmen", "staging", "registry.example/checkout:latest");
  EXPECT_EQ(DeniedBy(latest), "R9");
  EXPECT_THAT(latest.reasons[0].message, HasSubstr("not pinned by digest"));
  EXPECT_TRUE(t.Start("thijmen", "staging").allowed);
}

TEST(DefaultPackTest, R11SecurityReviewForInfraChanges) {
  Timeline t;
  t.UpToStagingReady({{"infra", true}});
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(15 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R11");
  t.Append("victoria", {{"kind", "review"}, {"subject", "security"}, {"verdict", "approved"}});
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
}

TEST(DefaultPackTest, R12BackupBeforeProduction) {
  Timeline t;
  t.UpToStagingReady();
  t.Advance(15 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R12");
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
}

TEST(DefaultPackTest, R13SameImageAsStaging) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(15 * kMicrosPerMinute);
  const std::string other =
      "registry.example/checkout@sha256:0000000000000000000000000000000000000000000000000000000000000000";
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", other}});
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production", other)), "R13");
  EXPECT_TRUE(t.Start("rutger", "production", kImage).allowed);
}

TEST(DefaultPackTest, R14HighRiskNeedsAMaintenanceWindow) {
  Timeline t;
  t.UpToStagingReady(json::object(), "high");
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(15 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R14");
  t.Append("ic", {{"kind", "maintenance.window"}, {"environment", "production"},
                  {"from", "2026-11-24T18:00:00Z"}, {"to", "2026-11-24T19:00:00Z"}});
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
  t.Advance(45 * kMicrosPerMinute);  // 19:00: the window has closed
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R14");
}

TEST(DefaultPackTest, R15CanaryPhasesHoldAndAnalysis) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(15 * kMicrosPerMinute);
  ASSERT_TRUE(t.Start("rutger", "production").allowed);
  auto shift = [&](int weight) {
    return t.Append("rutger", {{"kind", "traffic.shifted"}, {"weight", weight}});
  };
  auto analysis = [&](double error_rate, double p99) {
    t.Append("rutger", {{"kind", "gate.result"}, {"gate", "analysis"}, {"outcome", "pass"},
                        {"metrics", {{"error_rate_delta_pct", error_rate},
                                     {"p99_latency_delta_ms", p99}}}});
  };
  EXPECT_EQ(DeniedBy(shift(25)), "R15") << "5% comes first";
  ASSERT_TRUE(shift(5).allowed);
  t.Advance(14 * kMicrosPerMinute);
  analysis(0.05, 20);
  Decision early = shift(25);
  EXPECT_EQ(DeniedBy(early), "R15");
  EXPECT_THAT(early.reasons[0].message, HasSubstr("the 5% phase has held for 14m"));
  t.Advance(kMicrosPerMinute);
  ASSERT_TRUE(shift(25).allowed);
  t.Advance(30 * kMicrosPerMinute);
  analysis(0.2, 20);  // error rate too high
  EXPECT_EQ(DeniedBy(shift(50)), "R15");
  analysis(0.05, 99);
  EXPECT_TRUE(shift(50).allowed);
  EXPECT_TRUE(shift(5).allowed) << "lowering traffic is always allowed";
}

TEST(DefaultPackTest, R16PostDeployWatch) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(15 * kMicrosPerMinute);
  t.RunStep("rutger", "production");
  t.Advance(14 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Append("leon", {{"kind", "deploy.completed"}})), "R16");
  t.Advance(kMicrosPerMinute);
  EXPECT_TRUE(t.Append("leon", {{"kind", "deploy.completed"}}).allowed);
}

TEST(DefaultPackTest, R17WaiverLiftsOneRuleWithItsReason) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(5 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R10");
  t.Append("rm", {{"kind", "waiver.granted"}, {"rule", "staging-soak"},
                  {"reason", "hotfix for INC-9, checklist emergency path"}});
  Decision d = t.Start("rutger", "production");
  ASSERT_TRUE(d.allowed) << d.ToJson().dump();
  bool cited = false;
  for (const Evidence& e : d.evidence) {
    if (e.rule == "R10" && e.waiver) cited = e.waiver->reason.find("INC-9") != std::string::npos;
  }
  EXPECT_TRUE(cited) << d.ToJson().dump();

  EXPECT_EQ(t.Authority("leon", {{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", "x"}})
                .code(),
            StatusCode::kForbidden)
      << "only a waiver role holder";
  Status r3 = t.Authority("rm", {{"kind", "waiver.granted"}, {"rule", "R3"}, {"reason", "x"}});
  EXPECT_EQ(r3.code(), StatusCode::kForbidden);
  EXPECT_THAT(r3.message(), HasSubstr("never be waived"));
  EXPECT_EQ(t.Authority("rm", {{"kind", "waiver.granted"}, {"rule", "R99"}, {"reason", "x"}})
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(DefaultPackTest, R9RefusesATagOnlyRequestAtOnceSoItHoldsNoSlot) {
  Timeline t;
  const json request = {{"kind", "deploy.requested"}, {"app", "checkout"},
                        {"environment", "production"}, {"version", "1.4.2"},
                        {"image", "registry.example/checkout:1.4.2"}, {"strategy", "rolling"},
                        {"risk", "low"}};
  Decision tagged = t.Append("leon", request);
  EXPECT_EQ(DeniedBy(tagged), "R9");
  EXPECT_THAT(tagged.reasons[0].message, HasSubstr("not pinned by digest"));
  json latest = request;
  latest["image"] = "registry.example/checkout:latest";
  EXPECT_EQ(DeniedBy(t.Append("leon", latest)), "R9");
  // Nothing was folded: the app's slot is free (R5) for the pinned request that follows, which
  // R9 judges only by its pin (the scan comes before staging, not before the request).
  t.Request();
}

TEST(DefaultPackTest, R18PeakHoursNeedTheClientsAgreement) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  // kT0 is Tuesday 19:00 in Amsterdam; Wednesday 09:00 CET is 08:00 UTC, 14h after it.
  t.Advance(14 * 60 * kMicrosPerMinute - kMicrosPerSecond);
  EXPECT_TRUE(t.Start("rutger", "production").allowed) << "08:59:59 in Amsterdam";
}

TEST(DefaultPackTest, R18InsidePeakHoursDeniesUntilAnAccountManagerAgrees) {
  Timeline t;
  t.UpToStagingReady();
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Advance(14 * 60 * kMicrosPerMinute);  // Wednesday 2026-11-25 09:00 in Amsterdam
  Decision peak = t.Start("rutger", "production");
  EXPECT_EQ(DeniedBy(peak), "R18");
  EXPECT_THAT(peak.reasons[0].message,
              HasSubstr("Wed 2026-11-25 09:00 Europe/Amsterdam is inside calendar peak-hours"));
  // Another subject, or the right one not approved, or by a role that does not speak for the
  // clients, does not count.
  t.Append("marta", {{"kind", "review"}, {"subject", "client-agreement"}, {"verdict", "approved"}});
  t.Append("anne", {{"kind", "review"}, {"subject", "client-agreement"}, {"verdict", "rejected"}});
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R18");
  t.Append("anne", {{"kind", "review"}, {"subject", "client-agreement"}, {"verdict", "approved"}});
  EXPECT_TRUE(t.Start("rutger", "production").allowed);
}

TEST(DefaultPackTest, RollbacksAreNeverDenied) {
  Timeline t;
  t.UpToStagingReady();
  t.Report("thijmen", "staging", "FAILED");
  EXPECT_TRUE(t.Append("thijmen", {{"kind", "rollback.started"}, {"reason", "smoke failed"}}).allowed);
  EXPECT_TRUE(t.Append("leon", {{"kind", "rollback.completed"}, {"reason", "smoke failed"}}).allowed);
}

TEST(DefaultPackTest, ARollbackWithoutAReasonIsTakenAndSaysWhatIsMissing) {
  auto completed = Event::FromJson({{"kind", "rollback.completed"},
                                    {"id", "rb"},
                                    {"actor", "leon"},
                                    {"deployment", kDeployment}});
  ASSERT_TRUE(completed.ok()) << completed.status().ToString();
  EXPECT_THAT(MissingExpectedFields(*completed), ::testing::ElementsAre("reason"));
  auto explained = Event::FromJson({{"kind", "rollback.started"},
                                    {"id", "rs"},
                                    {"actor", "leon"},
                                    {"deployment", kDeployment},
                                    {"reason", "smoke failed"}});
  ASSERT_TRUE(explained.ok());
  EXPECT_THAT(MissingExpectedFields(*explained), ::testing::IsEmpty());
  Timeline t;
  t.UpToStagingReady();
  EXPECT_TRUE(t.Append("leon", {{"kind", "rollback.completed"}}).allowed);
  EXPECT_EQ(t.engine().FindDeployment(kDeployment)->status, DeploymentState::Status::kRolledBack);
}

TEST(DefaultPackTest, IntentsBeforeTheRequestAreDenied) {
  Timeline t;
  Decision d = t.Start("leon", "orchestrate");
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reasons[0].message, HasSubstr("no deploy.requested"));
}

// Evidence counts only after its deployment's request (issue 23): a fact recorded under the
// deployment's id before its deploy.requested satisfies no rule and lifts none.
TEST(DefaultPackTest, AReviewBeforeTheRequestDoesNotSatisfyR4) {
  Timeline t;
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  t.Request();
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4");
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  Decision d = t.Start("leon", "orchestrate");
  ASSERT_TRUE(d.allowed) << d.ToJson().dump();
  for (const Evidence& e : d.evidence) {
    if (e.rule == "R4") {
      EXPECT_EQ(e.events, std::vector<uint64_t>{3});
    }
  }
}

TEST(DefaultPackTest, AWaiverBeforeTheRequestLiftsNothing) {
  Timeline t;
  t.Append("rm", {{"kind", "waiver.granted"}, {"rule", "R4"}, {"reason", "granted ahead"}});
  t.Request();
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4");
  EXPECT_TRUE(t.engine().FindDeployment(kDeployment)->waivers.empty());
}

TEST(DefaultPackTest, ReportsGatesAndBackupsBeforeTheRequestCountForNothing) {
  Timeline t;
  t.Report("leon", "orchestrate", "READY");
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Request();
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  EXPECT_EQ(DeniedBy(t.Start("ci-bot", "build")), "R1") << "orchestrate READY came before";
  t.RunStep("leon", "orchestrate");
  t.RunStep("ci-bot", "build");
  EXPECT_EQ(DeniedBy(t.Start("thijmen", "staging")), "R9") << "the scan came before";
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
  t.RunStep("thijmen", "staging");
  t.Advance(15 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R12") << "the backup came before";
}

// Seed 001's pipeline end to end, every step of the chain, with the denials a careless crew
// meets on the way: each one names the rule a person has to satisfy.
TEST(SeedTimelines, Seed001PipelineWithCarelessAgents) {
  Timeline t;
  t.Request({{"infra", true}, {"db_migration", "destructive"}, {"reversible", true},
             {"resources_changed", 8}, {"network", true}, {"cdn", true}},
            "low",
            {"orchestrate", "db-migration", "infrastructure", "build", "staging", "production",
             "network", "cdn", "backup-verify"});
  EXPECT_EQ(DeniedBy(t.Start("leon", "orchestrate")), "R4") << "no merge approval yet";
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  t.RunStep("leon", "orchestrate");

  EXPECT_EQ(DeniedBy(t.Start("boris", "db-migration")), "R7") << "destructive, no backup";
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "pre-migration"}});
  t.RunStep("boris", "db-migration");

  EXPECT_EQ(DeniedBy(t.Start("arjan", "infrastructure")), "R8") << "8 resources, no approval";
  t.Append("hans", {{"kind", "review"}, {"subject", "blast-radius"}, {"verdict", "approved"}});
  t.RunStep("arjan", "infrastructure");

  t.RunStep("ci-bot", "build");
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
  EXPECT_EQ(DeniedBy(t.Start("thijmen", "staging", "registry.example/checkout:1.4.2")), "R9");
  t.RunStep("thijmen", "staging");

  EXPECT_EQ(DeniedBy(t.Start("stef", "network")), "R1") << "production is not READY";
  t.Advance(10 * kMicrosPerMinute);
  Decision early = t.Start("rutger", "production");
  EXPECT_THAT(DeniedBy(early), HasSubstr("R10"));
  EXPECT_THAT(DeniedBy(early), HasSubstr("R11")) << "infra change, no security review";
  t.Append("victoria", {{"kind", "review"}, {"subject", "security"}, {"verdict", "approved"}});
  t.Append("ic", {{"kind", "incident.opened"}, {"environment", "production"}, {"incident", "INC-3"}});
  t.Advance(5 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R6");
  t.Append("ic", {{"kind", "incident.resolved"}, {"environment", "production"}, {"incident", "INC-3"}});
  t.RunStep("rutger", "production");

  t.RunStep("stef", "network");
  t.RunStep("karel", "cdn");
  t.RunStep("otto", "backup-verify");
  EXPECT_EQ(DeniedBy(t.Append("leon", {{"kind", "deploy.completed"}})), "R16");
  t.Advance(15 * kMicrosPerMinute);
  EXPECT_TRUE(t.Append("leon", {{"kind", "deploy.completed"}}).allowed);
  EXPECT_EQ(t.engine().FindDeployment(kDeployment)->status, DeploymentState::Status::kCompleted);
}

// Seed 000's shorter chain (infra, zone 1 build, staging, production, network, cdn) with a canary
// through zones: the same image all the way, phases held, analysis passing, a halt honoured.
TEST(SeedTimelines, Seed000ZonesAndCanary) {
  Timeline t;
  t.Request({{"infra", true}, {"resources_changed", 2}}, "high",
            {"orchestrate", "infrastructure", "build", "staging", "production", "network", "cdn"});
  t.Append("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  t.RunStep("leon", "orchestrate");
  t.RunStep("arjan", "infrastructure");
  t.RunStep("ci-bot", "build");
  t.Append("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}});
  EXPECT_EQ(DeniedBy(t.Start("thijmen", "staging", "registry.example/checkout:latest")), "R9")
      << "never latest";
  t.RunStep("thijmen", "staging");
  t.Append("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  t.Append("victoria", {{"kind", "review"}, {"subject", "security"}, {"verdict", "approved"}});
  t.Advance(16 * kMicrosPerMinute);
  EXPECT_EQ(DeniedBy(t.Start("rutger", "production")), "R14") << "high risk, no window";
  t.Append("ic", {{"kind", "maintenance.window"}, {"environment", "production"},
                  {"from", "2026-11-24T18:00:00Z"}, {"to", "2026-11-24T22:00:00Z"}});
  ASSERT_TRUE(t.Start("rutger", "production").allowed);

  auto shift = [&](int w) {
    return t.Append("rutger", {{"kind", "traffic.shifted"}, {"weight", w}});
  };
  auto analysis = [&] {
    t.Append("rutger", {{"kind", "gate.result"}, {"gate", "analysis"}, {"outcome", "pass"},
                        {"metrics", {{"error_rate_delta_pct", 0.02}, {"p99_latency_delta_ms", 40}}}});
  };
  ASSERT_TRUE(shift(5).allowed);
  EXPECT_EQ(DeniedBy(shift(50)), "R15") << "25% comes next";
  for (auto [weight, hold] : std::vector<std::pair<int, int>>{{25, 15}, {50, 30}, {100, 60}}) {
    t.Advance(hold * kMicrosPerMinute);
    analysis();
    EXPECT_TRUE(shift(weight).allowed) << weight;
  }
  t.Report("rutger", "production", "READY");

  t.Start("stef", "network");
  t.Report("stef", "network", "BLOCKED");
  Decision halted = t.Start("karel", "cdn");
  EXPECT_THAT(DeniedBy(halted), HasSubstr("R2"));
  EXPECT_THAT(halted.reasons.back().message, HasSubstr("network reported BLOCKED"));
  t.Report("stef", "network", "READY");
  EXPECT_TRUE(t.Start("karel", "cdn").allowed);
}

// A team changes a threshold and renames a role by editing the file; the engine follows.
TEST(PolicyEdits, ThresholdAndRoleComeFromTheFile) {
  std::string text = DefaultPolicyText();
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  replace_all("{changes.resources_changed: {gt: 5}}", "{changes.resources_changed: {gt: 10}}");
  replace_all("production-ops", "prod-ops");
  ParseResult parsed = ParsePolicy(text, "edited.yaml");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().ToString();
  Engine engine(std::move(*parsed.policy));

  auto event = [](json e) {
    e["id"] = "e";
    e["deployment"] = kDeployment;
    return std::move(Event::FromJson(e).value());
  };
  Micros now = kT0;
  uint64_t seq = 0;
  auto apply = [&](const std::string& actor, const std::vector<std::string>& roles, json e) {
    e["actor"] = actor;
    engine.Apply(++seq, now, event(e), roles);
  };
  apply("leon", {"coordinator"},
        {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
         {"version", "1"}, {"image", kImage}, {"strategy", "rolling"}, {"risk", "low"},
         {"changes", {{"infra", true}, {"resources_changed", 8}}},
         {"planned_steps", {"orchestrate", "infrastructure"}}});
  apply("leon", {"coordinator"}, {{"kind", "step.reported"}, {"step", "orchestrate"}, {"status", "READY"}});
  Decision infra = engine.Decide(
      event({{"kind", "step.started"}, {"step", "infrastructure"}, {"actor", "arjan"}}), {"infra"}, now);
  EXPECT_TRUE(infra.allowed) << "8 resources are within the edited limit of 10: "
                             << infra.ToJson().dump();

  Event production = event({{"kind", "step.started"}, {"step", "production"}, {"actor", "rutger"}});
  EXPECT_EQ(engine.CheckAuthority(production, {"production-ops"}).code(), StatusCode::kForbidden);
  EXPECT_TRUE(engine.CheckAuthority(production, {"prod-ops"}).ok());
}

// The default pack with `rule` (YAML, indented as the pack's rules) inserted before R12.
Policy DefaultWithRule(const std::string& rule) {
  std::string text = DefaultPolicyText();
  const size_t at = text.find("  - id: R12\n    name: backup-before-prod\n");
  EXPECT_NE(at, std::string::npos);
  text.insert(at, rule);
  ParseResult parsed = ParsePolicy(text, "edited.yaml");
  if (!parsed.errors.empty() || !parsed.policy) {
    ADD_FAILURE() << (parsed.errors.empty() ? "no policy" : parsed.errors.front().ToString());
    return DefaultPolicy();
  }
  return std::move(*parsed.policy);
}

// on.environment narrows a rule to some environments; a requirement's on to some of its kinds.
TEST(PolicyEdits, RulesPerEnvironmentAndRequirementsPerKind) {
  Policy policy = DefaultWithRule("  - id: R30\n    name: staging-owner-note\n"
                                  "    on: {kind: [deploy.requested, step.started], environment: staging}\n"
                                  "    require:\n"
                                  "      - on: {kind: deploy.requested}\n"
                                  "        request: {changes.infra: false}\n"
                                  "      - on: {kind: step.started}\n"
                                  "        event: review\n"
                                  "        where: {subject: staging-plan, verdict: approved}\n");
  ASSERT_THAT(policy.FindRule("R30")->on_environments, ::testing::ElementsAre("staging"));
  Engine engine(std::move(policy));
  auto event = [](const std::string& deployment, json e) {
    e["id"] = "e";
    e["actor"] = "leon";
    e["deployment"] = deployment;
    return std::move(Event::FromJson(e).value());
  };
  auto request = [&](const std::string& deployment, const std::string& environment) {
    return event(deployment, {{"kind", "deploy.requested"}, {"app", "checkout"},
                              {"environment", environment}, {"version", "1"}, {"image", kImage},
                              {"strategy", "rolling"}, {"risk", "low"},
                              {"changes", {{"infra", true}}}, {"planned_steps", {"orchestrate"}}});
  };
  const std::vector<std::string> roles = {"coordinator"};
  // A staging request with an infrastructure change is denied by R30; production's is not judged.
  EXPECT_EQ(DeniedBy(engine.Decide(request("s-1", "staging"), roles, kT0)), "R30");
  EXPECT_TRUE(engine.Decide(request("p-1", "production"), roles, kT0).allowed);
  // Its start in staging needs the review (the request test does not apply to starts).
  engine.Apply(1, kT0, request("s-2", "staging"), roles);
  engine.Apply(2, kT0, request("p-2", "production"), roles);
  engine.Apply(3, kT0, event("s-2", {{"kind", "review"}, {"subject", "merge"},
                                     {"verdict", "approved"}}), {"merge-approver"});
  engine.Apply(4, kT0, event("p-2", {{"kind", "review"}, {"subject", "merge"},
                                     {"verdict", "approved"}}), {"merge-approver"});
  const json start = {{"kind", "step.started"}, {"step", "orchestrate"}};
  Decision staging = engine.Decide(event("s-2", start), roles, kT0);
  EXPECT_EQ(DeniedBy(staging), "R30");
  EXPECT_THAT(staging.reasons[0].message, HasSubstr("no review subject=staging-plan"));
  EXPECT_TRUE(engine.Decide(event("p-2", start), roles, kT0).allowed);
}

// A deployment's value index holds the fields its policy looks facts up by. A policy activated
// later that looks them up by another field still finds the facts folded before it, and so does
// an engine given a deployment another engine folded.
TEST(PolicyEdits, ALaterPolicyFindsFactsByAFieldTheEarlierOneNeverLookedUp) {
  const Policy edited = DefaultWithRule("  - id: R30\n    name: trusted-scanner\n"
                                        "    on: {kind: step.started}\n"
                                        "    require:\n"
                                        "      - event: gate.result\n"
                                        "        where: {producer: trusted-scanner}\n");
  ASSERT_NE(edited.FindRule("R30"), nullptr);
  ASSERT_FALSE(ValueIndexFields::Of(DefaultPolicy()).Has("gate.result", "producer"));
  ASSERT_TRUE(ValueIndexFields::Of(edited).Has("gate.result", "producer"));

  auto event = [](const std::string& deployment, json e) {
    e["id"] = "e";
    e["actor"] = "leon";
    e["deployment"] = deployment;
    return std::move(Event::FromJson(e).value());
  };
  const std::vector<std::string> roles = {"coordinator"};
  auto fold = [&](Engine& engine, uint64_t seq, const std::string& deployment,
                  const std::string& producer) {
    engine.Apply(seq, kT0, event(deployment, {{"kind", "deploy.requested"}, {"app", deployment},
                                              {"environment", "staging"}, {"version", "1"},
                                              {"image", kImage}, {"strategy", "rolling"},
                                              {"risk", "low"}, {"planned_steps", {"orchestrate"}}}),
                 roles);
    engine.Apply(seq + 1, kT0, event(deployment, {{"kind", "gate.result"}, {"gate", "scan"},
                                                  {"outcome", "pass"}, {"producer", producer}}),
                 {"ci"});
  };
  auto r30_denies = [&](const Engine& engine, const std::string& deployment) {
    const Decision d = engine.Decide(
        event(deployment, {{"kind", "step.started"}, {"step", "orchestrate"}}), roles, kT0);
    return DeniedBy(d).find("R30") != std::string::npos;
  };

  Engine engine(DefaultPolicy());
  fold(engine, 1, "trusted", "trusted-scanner");
  fold(engine, 3, "other", "someone-else");
  engine.SetPolicy(edited);
  EXPECT_FALSE(r30_denies(engine, "trusted"));
  EXPECT_TRUE(r30_denies(engine, "other"));
  fold(engine, 5, "after", "trusted-scanner");  // folded under the edited policy's index
  EXPECT_FALSE(r30_denies(engine, "after"));

  Engine elsewhere(DefaultPolicy());
  fold(elsewhere, 7, "moved", "trusted-scanner");
  std::optional<DeploymentState> moved = elsewhere.TakeDeployment("moved");
  ASSERT_TRUE(moved.has_value());
  engine.PutDeployment(std::move(*moved));
  EXPECT_TRUE(engine.FindDeployment("moved")->value_index->Has("gate.result", "producer"));
  EXPECT_FALSE(r30_denies(engine, "moved"));
}

// The steps a request plans are read into the deployment's state once. A state restored from an
// export, or moved into another engine, still knows them: without them chain-order would ask for
// every step of the chain before production.
TEST(PolicyEdits, RestoredAndMovedStatesKeepTheRequestsPlannedSteps) {
  auto event = [](json e) {
    e["id"] = "e";
    e["actor"] = "leon";
    e["deployment"] = "web-1";
    return std::move(Event::FromJson(e).value());
  };
  auto fold = [&](Engine& engine) {
    engine.Apply(1, kT0, event({{"kind", "deploy.requested"}, {"app", "web"},
                                {"environment", "production"}, {"version", "1"},
                                {"image", kImage}, {"strategy", "rolling"}, {"risk", "low"},
                                {"planned_steps", {"orchestrate", "production"}}}),
                 {"coordinator"});
    engine.Apply(2, kT0, event({{"kind", "step.reported"}, {"step", "orchestrate"},
                                {"status", "READY"}}),
                 {"coordinator"});
  };
  const Event production = event({{"kind", "step.started"}, {"step", "production"}});
  const Event staging = event({{"kind", "step.started"}, {"step", "staging"}});
  auto r1 = [&](const Engine& engine, const Event& start) {
    for (const Reason& r : engine.Decide(start, {"production-ops", "k8s-operator"}, kT0).reasons) {
      if (r.rule == "R1") return r.message;
    }
    return std::string();
  };

  Engine folded(DefaultPolicy());
  fold(folded);
  ASSERT_EQ(r1(folded, production), "");
  ASSERT_EQ(r1(folded, staging), "step staging is not planned for this deployment");

  // What a snapshot holds: the derived parts left empty (EngineState).
  EngineState exported = folded.ExportState();
  for (auto& [id, d] : exported.deployments) {
    d.by_kind.clear();
    d.by_value.clear();
    d.listed_steps.clear();
  }
  Engine restored(DefaultPolicy());
  restored.RestoreState(std::move(exported));
  EXPECT_EQ(r1(restored, production), "");
  EXPECT_EQ(r1(restored, staging), "step staging is not planned for this deployment");
  EXPECT_EQ(restored.FindDeployment("web-1")->planned_steps(restored.policy()),
            (std::vector<std::string>{"orchestrate", "production"}));

  Engine moved_to(DefaultPolicy());
  std::optional<DeploymentState> moved = folded.TakeDeployment("web-1");
  ASSERT_TRUE(moved.has_value());
  moved_to.PutDeployment(std::move(*moved));
  EXPECT_EQ(r1(moved_to, production), "");
  EXPECT_EQ(r1(moved_to, staging), "step staging is not planned for this deployment");
}

// A checklist's denial names exactly the items not done, in the checklist's order.
TEST(Checklists, ADenialListsExactlyTheMissingItems) {
  std::ifstream in(SHIPLOG_EXAMPLE_POLICY_FILE);
  std::stringstream text;
  text << in.rdbuf();
  ParseResult parsed = ParsePolicy(text.str(), "release.yaml");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().ToString();
  ASSERT_EQ(parsed.policy->checklists.at("production-deployment").size(), 6u);
  Engine engine(std::move(*parsed.policy));
  uint64_t seq = 0;
  auto append = [&](const std::string& actor, const std::vector<std::string>& roles, json e) {
    e["id"] = "e" + std::to_string(seq + 1);
    e["actor"] = actor;
    e["deployment"] = "web-1";
    Event event = std::move(Event::FromJson(e).value());
    engine.Apply(++seq, kT0, event, roles, "key-" + actor);
    return event;
  };
  append("lena", {"coordinator"},
         {{"kind", "deploy.requested"}, {"app", "web"}, {"environment", "staging"},
          {"version", "2"}, {"image", kImage}, {"strategy", "rolling"}, {"risk", "high"}});
  append("bob", {"ci"}, {{"kind", "gate.result"}, {"gate", "tests"}, {"outcome", "pass"}});
  append("thijmen", {"k8s-operator"},
         {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
  // Recorded, but not by the backup role the item names.
  append("lena", {"coordinator"}, {{"kind", "rollback.started"}, {"reason", "drill"}});
  json start = {{"kind", "step.started"}, {"step", "production"}, {"id", "s"},
                {"actor", "rutger"}, {"deployment", "web-1"}};
  Decision d = engine.Decide(Event::FromJson(start).value(), {"production-ops"}, kT0);
  ASSERT_FALSE(d.allowed);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].rule, "R24");
  EXPECT_EQ(d.reasons[0].message,
            "checklist production-deployment is missing 4 of 6 items: security scans completed "
            "(no critical vulnerabilities); smoke tests passed in staging; rollback plan documented "
            "and reviewed; database backup completed and verified");
  EXPECT_EQ(d.reasons[0].considered, (std::vector<uint64_t>{2, 3}));
}

// A decision read back from the JSON a record carries is the decision that was written.
TEST(DecisionJson, ReadsBackWhatToJsonWrote) {
  Decision d;
  d.allowed = false;
  d.policy_sha256 = "ab12";
  d.reasons.push_back({"R10", "staging-soak", "staging has been READY for 14m", {7, 9}});
  d.evidence.push_back({"R12", "backup-before-prod", {4}, std::nullopt});
  d.evidence.push_back({"R10", "staging-soak", {}, Waiver{11, "rm", "hotfix"}});
  auto back = Decision::FromJson(d.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), d.ToJson());
  ASSERT_TRUE(back->evidence[1].waiver.has_value());
  EXPECT_EQ(back->evidence[1].waiver->actor, "rm");

  EXPECT_FALSE(Decision::FromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(Decision::FromJson({{"allowed", "yes"}}).ok());
  EXPECT_FALSE(Decision::FromJson({{"allowed", true}, {"reasons", "none"}}).ok());
  EXPECT_FALSE(Decision::FromJson({{"allowed", true}, {"evidence", {1, 2}}}).ok());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
