// DSSE envelopes as records (ledger/dsse_event.h): Ledger::CheckEnvelope reads one into the event
// it stands for, the record keeps the envelope's exact text beside that event, and every reader
// (Read, Verify) treats the scheme as it treats shiplog's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger/dsse.h"
#include "ledger/dsse_event.h"
#include "ledger/ledger.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

namespace dsse = shiplog::dsse;
using shiplog::CheckedEvent;
using shiplog::Receipt;
using shiplog::Result;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::StatusCode;
using ::testing::HasSubstr;

// kImage's digest.
const std::string kDigest = "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

json ScanStatement(const std::string& digest, const std::string& severity) {
  return {{"_type", "https://in-toto.io/Statement/v1"},
          {"subject",
           {{{"name", "registry.example.com/checkout"}, {"digest", {{"sha256", digest}}}},
            {{"name", "other"}, {"digest", {{"sha256", std::string(64, 'd')}}}}}},
          {"predicateType", "https://in-toto.io/attestation/vulns/v0.1"},
          {"predicate",
           {{"scanner",
             {{"uri", "pkg:github/aquasecurity/trivy@244fd47"},
              {"result",
               {{{"id", "CVE-1"}, {"severity", {{{"method", "nvd"}, {"score", severity}}}}}}}}}}}};
}

class DsseRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.Create();
    t_.Enroll("ci-bot", ci_, {"ci"});
    t_.Enroll("leon", leon_, {"coordinator"});
    t_.Append(DeployRequestedJson("leon"), leon_);
  }
  shiplog::Ledger& ledger() { return *t_.ledger; }

  Result<Receipt> AppendEnvelope(const std::string& text, const std::string& deployment) {
    auto checked = ledger().CheckEnvelope(text, deployment);
    if (!checked.ok()) return checked.status();
    std::vector<CheckedEvent> one;
    one.push_back(std::move(checked).value());
    return std::move(ledger().AppendBatch(std::move(one)).front());
  }

  std::string Envelope(std::string_view type, const json& payload, const SigningKey& key) {
    return dsse::Sign(std::string(type), payload.dump(), key).ToJson().dump();
  }

  TestLedger t_;
  SigningKey ci_ = SigningKey::Generate();
  SigningKey leon_ = SigningKey::Generate();
};

TEST_F(DsseRecordTest, AStatementBecomesTheFactAboutTheDeploymentsImage) {
  const std::string text = Envelope(dsse::kInTotoType, ScanStatement(kDigest, "medium"), ci_);
  Receipt receipt = Unwrap(AppendEnvelope(text, kDeployment), "append");
  EXPECT_EQ(receipt.actor, "ci-bot");
  EXPECT_EQ(receipt.event_id.rfind("intoto:", 0), 0u);

  shiplog::StoredRecord record = Unwrap(ledger().Read(receipt.seq), "Read");
  EXPECT_EQ(record.signed_event.scheme, "dsse-ed25519");
  EXPECT_EQ(record.signed_event.payload, text);  // the envelope's exact bytes
  EXPECT_OK(record.signed_event.VerifySignature());
  const json fields = record.event.ToJson();
  EXPECT_EQ(fields["kind"], "gate.result");
  EXPECT_EQ(fields["deployment"], kDeployment);
  EXPECT_EQ(fields["gate"], "scan");
  EXPECT_EQ(fields["image"], "sha256:" + kDigest);  // the subject the deployment applies
  EXPECT_EQ(fields["metrics"]["medium"], 1);
  EXPECT_EQ(fields["metrics"]["critical"], 0);

  auto report = Unwrap(ledger().Verify(), "Verify");
  EXPECT_TRUE(report.ok) << report.problem;
}

TEST_F(DsseRecordTest, TheSameStatementAgainIsARepeatHoweverItIsSpaced) {
  dsse::Envelope envelope =
      dsse::Sign(std::string(dsse::kInTotoType), ScanStatement(kDigest, "low").dump(), ci_);
  Receipt first = Unwrap(AppendEnvelope(envelope.ToJson().dump(), kDeployment), "first");
  Receipt again = Unwrap(AppendEnvelope(envelope.ToJson().dump(2), kDeployment), "again");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.seq, first.seq);
}

TEST_F(DsseRecordTest, AShiplogEventInAnEnvelopeKeepsItsOwnActorAndId) {
  json event = GateResultJson("ci-bot", "tests");
  const std::string text = Envelope(dsse::kShiplogEventType, event, ci_);
  Receipt receipt = Unwrap(AppendEnvelope(text, ""), "append");
  EXPECT_EQ(receipt.event_id, event["id"]);
  EXPECT_OK(Unwrap(ledger().Read(receipt.seq), "Read").signed_event.VerifySignature());
  // An actor that is not the key's enrolled name is refused, as for any signed event.
  event = GateResultJson("leon", "tests");
  EXPECT_EQ(AppendEnvelope(Envelope(dsse::kShiplogEventType, event, ci_), "").status().code(),
            StatusCode::kForbidden);
}

TEST_F(DsseRecordTest, BadEnvelopesAreRefusedNamingTheFaultAndNothingIsStored) {
  const uint64_t size = ledger().size();
  auto refused = [&](const std::string& text, const std::string& deployment = kDeployment) {
    auto r = AppendEnvelope(text, deployment);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    return r.status().message();
  };
  dsse::Envelope good =
      dsse::Sign(std::string(dsse::kInTotoType), ScanStatement(kDigest, "low").dump(), ci_);
  dsse::Envelope bad = good;
  bad.signatures[0].sig[5] ^= 1;
  EXPECT_THAT(refused(bad.ToJson().dump()), HasSubstr("does not verify over the envelope's PAE"));
  bad = good;
  bad.payload_type = "application/json";  // what the signature covered no longer
  EXPECT_THAT(refused(bad.ToJson().dump()), HasSubstr("payloadType 'application/json' is not one"));
  EXPECT_THAT(
      refused(dsse::Sign(std::string(dsse::kInTotoType), good.payload, SigningKey::Generate())
                  .ToJson()
                  .dump()),
      HasSubstr("keyid names an enrolled"));
  json sha512 = ScanStatement(kDigest, "low");
  sha512["subject"][1]["digest"] = {{"sha512", std::string(128, 'a')}};
  EXPECT_THAT(refused(Envelope(dsse::kInTotoType, sha512, ci_)), HasSubstr("no sha256 digest"));
  json noncanonical = good.ToJson();
  noncanonical["payload"] = noncanonical["payload"].get<std::string>() + "\n";
  EXPECT_THAT(refused(noncanonical.dump()), HasSubstr("not canonical base64"));
  EXPECT_THAT(refused(good.ToJson().dump(), ""), HasSubstr("names no deployment"));
  EXPECT_THAT(
      refused(Envelope(dsse::kInTotoType, ScanStatement(std::string(64, 'e'), "low"), ci_)),
      HasSubstr("do not include deployment '" + kDeployment + "''s image sha256:" + kDigest));
  EXPECT_THAT(refused(good.ToJson().dump(), "no-such-deployment"),
              HasSubstr("has no deploy.requested"));
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(DsseRecordTest, ARevokedKeysEnvelopeIsRefused) {
  t_.Revoke(ci_);
  EXPECT_THAT(
      AppendEnvelope(Envelope(dsse::kInTotoType, ScanStatement(kDigest, "low"), ci_), kDeployment)
          .status()
          .message(),
      HasSubstr("keyid names an enrolled, unrevoked key"));
}

// A record's event is read again from its envelope: a record whose event says something the
// envelope does not is caught, whoever signed it.
TEST_F(DsseRecordTest, AnEventTheEnvelopeDoesNotSayFailsItsSignatureCheck) {
  const std::string text = Envelope(dsse::kInTotoType, ScanStatement(kDigest, "critical"), ci_);
  CheckedEvent checked = Unwrap(ledger().CheckEnvelope(text, kDeployment), "check");
  json forged = checked.event.ToJson();
  forged["metrics"]["critical"] = 0;
  SignedEvent tampered = checked.signed_event;
  tampered.event = std::string(MakeEvent(forged).bytes());
  EXPECT_OK(checked.signed_event.VerifySignature());
  shiplog::Status status = tampered.VerifySignature();
  EXPECT_EQ(status.code(), StatusCode::kBadSignature);
  EXPECT_THAT(status.message(), HasSubstr("not what the envelope says"));
  // Nor can such a record be appended: CheckEvent checks it like any other signed event.
  EXPECT_FALSE(shiplog::CheckEvent(tampered).ok());
  // A gate.result about the other subject is one the envelope says, but the append refuses it
  // for a deployment that does not apply that image.
  forged = checked.event.ToJson();
  forged["image"] = "sha256:" + std::string(64, 'd');
  tampered.event = std::string(MakeEvent(forged).bytes());
  auto other = shiplog::CheckEvent(tampered);
  ASSERT_OK(other.status());
  EXPECT_TRUE(other->from_statement);
  std::vector<CheckedEvent> one;
  one.push_back(std::move(other).value());
  auto appended = ledger().AppendBatch(std::move(one)).front();
  EXPECT_THAT(appended.status().message(), HasSubstr("do not include deployment"));
}

TEST_F(DsseRecordTest, AnUnknownPredicateIsStoredAsEvidence) {
  json statement = ScanStatement(kDigest, "low");
  statement["predicateType"] = "https://spdx.dev/Document";
  Receipt receipt =
      Unwrap(AppendEnvelope(Envelope(dsse::kInTotoType, statement, ci_), kDeployment), "append");
  shiplog::StoredRecord record = Unwrap(ledger().Read(receipt.seq), "Read");
  EXPECT_EQ(record.event.kind(), "attestation.stored");
  EXPECT_EQ(record.event.ToJson()["predicate_type"], "https://spdx.dev/Document");
  shiplog::QueryFilter filter;
  filter.kind = "attestation.stored";
  int found = 0;
  ASSERT_OK(ledger().Query(filter, [&](const shiplog::StoredRecord&) { return ++found, true; }));
  EXPECT_EQ(found, 1);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
