// Tests of replay/attestation.h: the shape of a deploy-authorization statement for an allowed
// production start under the default pack (staging soaked for real), its DSSE envelope, and the
// records it refuses.
#include "replay/attestation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger/checkpoint.h"
#include "replay_test_util.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::replay_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;

class AttestationTest : public ::testing::Test {
 protected:
  AttestationTest() : lut_(DefaultPolicy(), kStart, testing::ChainAgents()) {
    auto as = [&](const std::string& agent, json event) {
      event["actor"] = agent;
      event["deployment"] = "checkout-1";
      last_ = LedgerUnderTest::Must(lut_.Append(event));
    };
    testing::WalkToStagingStart(as, testing::ChainRequest("checkout", kImage));
    staging_ = last_.seq;
    as("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    LedgerUnderTest::Must(lut_.ledger().AdvanceClock(16 * kMicrosPerMinute));
    as("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    backup_ = last_.seq;
    as("rutger", {{"kind", "step.started"}, {"step", "production"}});
    production_ = last_;
  }

  LedgerUnderTest lut_;
  Receipt last_;
  Receipt production_;
  uint64_t staging_ = 0, backup_ = 0;
};

TEST_F(AttestationTest, StatementOfAnAllowedProductionStart) {
  ASSERT_FALSE(production_.denied);
  json s = LedgerUnderTest::Must(replay::DeployAuthorization(lut_.ledger(), production_.seq));
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["predicateType"], "https://shiplog.dev/attestation/deploy-authorization/v1");
  EXPECT_EQ(s["subject"], json::parse(R"([{"name": "registry.example/checkout", "digest":
      {"sha256": "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"}}])"));
  const json& p = s["predicate"];
  EXPECT_EQ(p["deployment"], "checkout-1");
  EXPECT_EQ(p["app"], "checkout");
  EXPECT_EQ(p["environment"], "production");
  EXPECT_EQ(p["version"], "1.4.2");
  EXPECT_EQ(p["image"], kImage) << "the step named none: the request's image";
  EXPECT_EQ(p["step"], "production");
  EXPECT_EQ(p["actor"], "rutger");
  EXPECT_EQ(p["seq"], production_.seq);
  EXPECT_EQ(p["ledger_time"], "2026-11-24T18:16:00Z");
  EXPECT_EQ(p["manual_clock"], true);
  EXPECT_THAT(p["drill"].get<std::string>(), HasSubstr("manual clock"));

  const policy::Policy policy = DefaultPolicy();
  EXPECT_EQ(p["policy"], json({{"name", policy.name}, {"sha256", policy.sha256_hex}, {"seq", 0}}));
  EXPECT_EQ(p["decision"], json::parse(production_.decision));
  EXPECT_EQ(p["decision"]["allowed"], true);
  bool backup_cited = false;
  for (const json& e : p["decision"]["evidence"]) {
    for (const json& seq : e["events"]) backup_cited = backup_cited || seq == backup_;
  }
  EXPECT_TRUE(backup_cited) << "R12's evidence is the backup record";

  // The receipt is the record's, proved into the latest checkpoint, and checks offline.
  Receipt receipt = LedgerUnderTest::Must(Receipt::FromJson(p["receipt"]));
  EXPECT_EQ(receipt.seq, production_.seq);
  EXPECT_EQ(receipt.leaf_hash, production_.leaf_hash);
  EXPECT_TRUE(receipt.Verify(lut_.ledger().public_key()).ok());

  const std::string key = lut_.ledger().public_key();
  EXPECT_EQ(p["ledger"],
            json({{"origin", lut_.ledger().origin()},
                  {"public_key", HexEncode(key)},
                  {"keyid", dsse::KeyId(key)},
                  {"note_verifier_key", NoteVerifierKey(lut_.ledger().origin(), key)}}));
  EXPECT_EQ(s.size(), 4u);
}

TEST_F(AttestationTest, EnvelopeIsSignedByTheLedgerKeyOverTheStatement) {
  SigningKey key = LedgerUnderTest::Must(replay::ReadLedgerKey(lut_.data()));
  dsse::Envelope envelope =
      LedgerUnderTest::Must(replay::IssueAttestation(lut_.ledger(), production_.seq, key));
  EXPECT_EQ(envelope.payload_type, "application/vnd.in-toto+json");
  EXPECT_TRUE(dsse::Verify(envelope, lut_.ledger().public_key()).ok());
  EXPECT_EQ(json::parse(envelope.payload),
            LedgerUnderTest::Must(replay::DeployAuthorization(lut_.ledger(), production_.seq)));

  auto other = replay::IssueAttestation(lut_.ledger(), production_.seq, SigningKey::Generate());
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("not this ledger's key"));
}

TEST_F(AttestationTest, RefusesRecordsThatAuthorizedNoImage) {
  auto denied =
      lut_.Append({{"kind", "deploy.completed"}, {"actor", "leon"}, {"deployment", "checkout-1"}});
  ASSERT_TRUE(denied.ok()) << denied.status().ToString();
  ASSERT_TRUE(denied->denied) << "production has not been READY for 15 minutes (R16)";
  auto refused = [&](uint64_t seq) {
    return replay::DeployAuthorization(lut_.ledger(), seq).status();
  };
  EXPECT_THAT(refused(denied->seq).message(), HasSubstr("is a denied intent"));
  EXPECT_EQ(refused(denied->seq).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused(backup_).message(), HasSubstr("is a backup.verified, not a step.started"));
  EXPECT_EQ(refused(lut_.ledger().size()).code(), StatusCode::kNotFound);
  // The staging start is an allowed intent too: it is attested, naming its step.
  json staging = LedgerUnderTest::Must(replay::DeployAuthorization(lut_.ledger(), staging_));
  EXPECT_EQ(staging["predicate"]["step"], "staging");
}

// A step the policy lets start with an image of its own that is not pinned (the default pack's
// R9 guards staging and production only) authorized no digest: nothing to attest.
TEST_F(AttestationTest, RefusesAnImageNotPinnedByDigest) {
  json request = testing::ChainRequest("search", kImage);
  request.update({{"actor", "leon"}, {"deployment", "search-1"}});
  LedgerUnderTest::Must(lut_.Append(request));
  LedgerUnderTest::Must(lut_.Append({{"kind", "review"},
                                     {"subject", "merge"},
                                     {"verdict", "approved"},
                                     {"actor", "marta"},
                                     {"deployment", "search-1"}}));
  Receipt started =
      LedgerUnderTest::Must(lut_.Append({{"kind", "step.started"},
                                         {"step", "orchestrate"},
                                         {"actor", "leon"},
                                         {"deployment", "search-1"},
                                         {"image", "registry.example/search:latest"}}));
  ASSERT_FALSE(started.denied) << started.decision;
  Status refused = replay::DeployAuthorization(lut_.ledger(), started.seq).status();
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              HasSubstr("'registry.example/search:latest', which is not pinned"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay_test
