// The default pack's scripted timelines (policy/default_tests.yaml), every rule at its
// boundaries, run through a real ledger: RocksDB on disk, signed events from enrolled keys, a
// manual clock, and the policy gate inside the ledger's sequencer. The same file runs on the pure
// engine in `shiplog policy test`; here it proves the ledger enforces what the engine decides.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ledger/ledger.h"
#include "policy/policy_gate.h"
#include "policy/policy_tests.h"
#include "tests/cli/process.h"
#include "tests/postgres/test_store.h"

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using json = nlohmann::json;

class LedgerTimeline final : public TimelineBackend {
 public:
  Status Reset(const Policy& policy, Micros start,
               const std::map<std::string, std::vector<std::string>>& actors) override {
    ledger_.reset();
    gate_ = std::make_unique<PolicyGate>();
    dir_ = std::make_unique<testing::ScratchDir>();
    admin_ = SigningKey::Generate();
    const SigningKey& admin = admin_;
    InitOptions options;
    options.admin_public_key = admin.PublicKey();
    options.manual_clock = true;
    options.manual_clock_start = start;
    options.policy = policy.source;
    options.store = shiplog::testing::NewTestStoreUrl();
    SHIPLOG_RETURN_IF_ERROR(Ledger::Init(*dir_ / "data", options, &unused_clock_));
    SHIPLOG_ASSIGN_OR_RETURN(ledger_, Ledger::Open(*dir_ / "data", &unused_clock_, gate_.get()));
    keys_.clear();
    for (const auto& [name, roles] : actors) {
      SigningKey key = SigningKey::Generate();
      SHIPLOG_ASSIGN_OR_RETURN(Event enroll, Event::FromJson({{"kind", "key.enrolled"},
                                                              {"id", "enroll-" + name},
                                                              {"actor", "admin"},
                                                              {"name", name},
                                                              {"public_key", HexEncode(key.PublicKey())},
                                                              {"roles", roles}}));
      SHIPLOG_RETURN_IF_ERROR(ledger_->Append(SignedEvent::Sign(enroll, admin)).status());
      keys_.emplace(name, std::move(key));
    }
    return Status::Ok();
  }

  Status SetTime(Micros now) override { return ledger_->SetClock(now); }

  Status Revoke(const std::string& actor) override {
    SHIPLOG_ASSIGN_OR_RETURN(
        Event revoked,
        Event::FromJson({{"kind", "key.revoked"},
                         {"id", "revoke-" + actor},
                         {"actor", "admin"},
                         {"public_key", HexEncode(keys_.at(actor).PublicKey())}}));
    return ledger_->Append(SignedEvent::Sign(revoked, admin_)).status();
  }

  Result<Outcome> Append(const Event& event) override {
    auto receipt = ledger_->Append(SignedEvent::Sign(event, keys_.at(std::string(event.actor()))));
    Outcome out;
    if (!receipt.ok()) {
      StatusCode code = receipt.status().code();
      if (code != StatusCode::kForbidden && code != StatusCode::kInvalidArgument &&
          code != StatusCode::kUnknownKey) {
        return receipt.status();
      }
      out.got = "reject";
      out.authority = receipt.status().ToString();
      return out;
    }
    if (!receipt->decision.empty()) {
      SHIPLOG_ASSIGN_OR_RETURN(out.decision, Decision::FromJson(json::parse(receipt->decision)));
    }
    out.got = receipt->denied ? "deny" : "allow";
    return out;
  }

 private:
  SystemClock unused_clock_;  // a manual-clock ledger never reads it
  std::unique_ptr<testing::ScratchDir> dir_;
  std::unique_ptr<PolicyGate> gate_;
  std::unique_ptr<Ledger> ledger_;
  std::map<std::string, SigningKey> keys_;
  SigningKey admin_ = SigningKey::Generate();
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(LedgerTimelines, DefaultPackTestsPassThroughARealLedger) {
  InitCrypto();
  ParseResult parsed = ParsePolicy(DefaultPolicyText(), "default.yaml");
  ASSERT_TRUE(parsed.errors.empty());
  const std::string text = ReadText(SHIPLOG_DEFAULT_POLICY_TESTS_FILE);
  ASSERT_FALSE(text.empty()) << SHIPLOG_DEFAULT_POLICY_TESTS_FILE;
  LedgerTimeline ledger;
  PolicyTestRun run = RunPolicyTests(*parsed.policy, text, "default_tests.yaml", &ledger);
  for (const PolicyError& e : run.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(run.report);
  for (const PolicyTestMismatch& m : run.report->mismatches) ADD_FAILURE() << m.ToString();
  EXPECT_GE(run.report->tests, 20);
  EXPECT_EQ(run.report->failed, 0);
}

// The example a team starts from (policy/examples/release.yaml): the two-person rule bound to the
// digest, with a real key revoked by the admin; the freeze and per-environment rules.
TEST(LedgerTimelines, TheReleaseExampleTestsPassOnTheEngineAndThroughARealLedger) {
  InitCrypto();
  ParseResult parsed = ParsePolicy(ReadText(SHIPLOG_EXAMPLE_POLICY_FILE), "release.yaml");
  for (const PolicyError& e : parsed.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(parsed.policy);
  EXPECT_TRUE(parsed.warnings.empty());
  const std::string text = ReadText(SHIPLOG_EXAMPLE_POLICY_TESTS_FILE);
  LedgerTimeline ledger;
  for (TimelineBackend* backend : {static_cast<TimelineBackend*>(nullptr),
                                   static_cast<TimelineBackend*>(&ledger)}) {
    PolicyTestRun run = RunPolicyTests(*parsed.policy, text, "release_tests.yaml", backend);
    for (const PolicyError& e : run.errors) ADD_FAILURE() << e.ToString();
    ASSERT_TRUE(run.report);
    for (const PolicyTestMismatch& m : run.report->mismatches) ADD_FAILURE() << m.ToString();
    EXPECT_EQ(run.report->tests, 13);
    EXPECT_EQ(run.report->failed, 0);
  }
}

// The same tests file with one expectation turned around fails at that step, with the reason: the
// passing run above is not a run that cannot fail.
TEST(LedgerTimelines, ARevocationLeftOutOfTheReleaseExampleIsCaught) {
  InitCrypto();
  ParseResult parsed = ParsePolicy(ReadText(SHIPLOG_EXAMPLE_POLICY_FILE), "release.yaml");
  ASSERT_TRUE(parsed.policy);
  std::string text = ReadText(SHIPLOG_EXAMPLE_POLICY_TESTS_FILE);
  const size_t at = text.find("      - revoke: rm\n");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 19, "      - advance: 1m\n");
  PolicyTestRun run = RunPolicyTests(*parsed.policy, text, "release_tests.yaml");
  ASSERT_TRUE(run.report);
  ASSERT_EQ(run.report->failed, 1);
  ASSERT_EQ(run.report->mismatches.size(), 2u);
  EXPECT_EQ(run.report->mismatches[0].expected, "deny");
  EXPECT_EQ(run.report->mismatches[0].got, "allow");
  EXPECT_EQ(run.report->mismatches[1].expected, "reject");
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
