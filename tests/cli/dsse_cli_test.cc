// DSSE and in-toto in, end to end with the real binary and the default pack: an in-toto
// statement from CI (signed here by an independent Python signer, or by `shiplog sign --dsse`)
// is evidence a rule reads; a shiplog event in an envelope is judged like any other; bad
// envelopes exit 2 and store nothing; verify, timelines and bundles take both schemes alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kDigest = "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kImage = "registry.example/checkout@sha256:" + kDigest;
// The digest the SLSA provenance example (tests/vectors/intoto) names as its subject.
const std::string kSlsaDigest = "fe4fe40ac7250263c5dbe1cf3138912f3f416140aa248637a60d65fe22c47da4";

json VulnStatement(const std::string& digest, const std::string& severity) {
  return {
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject", {{{"name", "registry.example/checkout"}, {"digest", {{"sha256", digest}}}}}},
      {"predicateType", "https://in-toto.io/attestation/vulns/v0.1"},
      {"predicate",
       {{"scanner",
         {{"uri", "pkg:github/aquasecurity/trivy@244fd47"},
          {"result",
           {{{"id", "CVE-2026-1"}, {"severity", {{{"method", "nvd"}, {"score", severity}}}}}}}}},
        {"metadata",
         {{"scanStartedOn", "2026-11-24T17:00:00Z"},
          {"scanFinishedOn", "2026-11-24T17:01:00Z"}}}}}};
}

class DsseCliTest : public CliLedgerTest {
 protected:
  void Init(const std::string& policy_text = "") {
    InitWithAgents({{"leon", "coordinator"},
                    {"marta", "merge-approver"},
                    {"ci-bot", "ci"},
                    {"thijmen", "k8s-operator"}},
                   policy_text);
  }

  // Requested, merged, orchestrated and built: the next step is staging.
  void UpToStaging(const std::string& image) {
    AsOk("leon", {{"kind", "deploy.requested"},
                  {"app", "checkout"},
                  {"environment", "production"},
                  {"version", "1.4.2"},
                  {"image", image},
                  {"strategy", "rolling"},
                  {"risk", "low"},
                  {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
    AsOk("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    for (auto [who, step] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "orchestrate"}, {"ci-bot", "build"}}) {
      AsOk(who, {{"kind", "step.started"}, {"step", step}});
      AsOk(who, {{"kind", "step.reported"}, {"step", step}, {"status", "READY"}});
    }
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ / name;
    WriteFile(path, text);
    return path;
  }

  // The envelope `shiplog sign --dsse` makes of `payload` with `who`'s key.
  std::string SignDsse(const std::string& who, const json& payload) {
    ProcessResult r = Run({"sign", "--dsse", "--key", dir_ / (who + ".key"),
                           Write(who + "-payload.json", payload.dump())});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // The envelope an independent signer (Python, nacl) makes of `payload`'s exact bytes.
  std::string PythonSign(const std::string& who, const std::string& payload_type,
                         const std::string& payload) {
    ProcessResult r = RunProcess({SHIPLOG_PYTHON3, DSSE_SIGN_SCRIPT, dir_ / (who + ".key"),
                                  payload_type, Write("py-payload", payload)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  ProcessResult AppendEnvelope(const std::string& envelope,
                               const std::string& deployment = "checkout-1") {
    std::vector<std::string> args = {"append", "--data", data(), Write("envelope.json", envelope)};
    if (!deployment.empty()) args.insert(args.end(), {"--deployment", deployment});
    return Run(args);
  }

  ProcessResult StartStaging() {
    return As("thijmen", {{"kind", "step.started"}, {"step", "staging"}});
  }

  uint64_t Records() { return Ok({"query", "--data", data(), "--count"})["count"]; }
};

bool Python3Available() {
  struct stat st;
  return std::string(SHIPLOG_PYTHON3).size() > 0 && ::stat(SHIPLOG_PYTHON3, &st) == 0;
}

TEST_F(DsseCliTest, AScanStatementFromCiSatisfiesTheScanRule) {
  if (!Python3Available()) GTEST_SKIP() << "no python3";
  Init();
  UpToStaging(kImage);
  ProcessResult denied = StartStaging();
  ASSERT_EQ(denied.exit_code, 3) << denied.err;
  EXPECT_THAT(denied.out, HasSubstr("R9"));

  const std::string envelope =
      PythonSign("ci-bot", "application/vnd.in-toto+json", VulnStatement(kDigest, "medium").dump());
  ProcessResult appended = AppendEnvelope(envelope);
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  EXPECT_EQ(json::parse(appended.out)["actor"], "ci-bot");

  ProcessResult allowed = StartStaging();
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err << allowed.out;

  json scan = Ok({"query", "--data", data(), "--kind", "gate.result"});
  EXPECT_EQ(scan["event"]["gate"], "scan");
  EXPECT_EQ(scan["event"]["predicate_type"], "https://in-toto.io/attestation/vulns/v0.1");
  EXPECT_EQ(scan["event"]["metrics"]["medium"], 1);
  EXPECT_EQ(Ok({"verify", "--data", data()})["ok"], true);
}

TEST_F(DsseCliTest, ACriticalVulnerabilityKeepsTheImageOutOfStaging) {
  Init();
  UpToStaging(kImage);
  ProcessResult appended = AppendEnvelope(SignDsse("ci-bot", VulnStatement(kDigest, "CRITICAL")));
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  ProcessResult denied = StartStaging();
  EXPECT_EQ(denied.exit_code, 3);
  EXPECT_THAT(denied.out, HasSubstr("metrics.critical"));
}

// A team that wants build provenance before staging adds a rule; the SLSA provenance example,
// signed by CI, satisfies it for the image it names.
TEST_F(DsseCliTest, ASlsaProvenanceStatementSatisfiesABuildRule) {
  std::ifstream in(SHIPLOG_DEFAULT_POLICY_FILE);
  std::string policy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  policy += R"(
  - id: P1
    name: build-provenance
    why: staging takes only images with signed build provenance
    on: {kind: step.started, step: staging}
    require:
      - event: gate.result
        where: {gate: build, outcome: pass, predicate_type: "https://slsa.dev/provenance/v1"}
        same_image: true
)";
  Init(policy);
  const std::string image = "registry.example/hello@sha256:" + kSlsaDigest;
  UpToStaging(image);
  AsOk("ci-bot",
       {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", image}});
  ProcessResult denied = StartStaging();
  ASSERT_EQ(denied.exit_code, 3);
  EXPECT_THAT(denied.out, HasSubstr("build-provenance"));

  std::ifstream example(std::string(SHIPLOG_VECTORS_DIR) +
                        "/intoto/slsa_provenance_v1_github_actions_workflow_example.json");
  ProcessResult appended = AppendEnvelope(SignDsse("ci-bot", json::parse(example)));
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  ProcessResult allowed = StartStaging();
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out;
}

TEST_F(DsseCliTest, AShiplogEventInAnEnvelopeIsJudgedDeniedAndAuditedLikeAnyOther) {
  Init();
  UpToStaging(kImage);
  json start = {{"kind", "step.started"},
                {"step", "staging"},
                {"actor", "thijmen"},
                {"deployment", "checkout-1"},
                {"id", "dsse-start-1"}};
  ProcessResult denied = AppendEnvelope(SignDsse("thijmen", start), "");
  ASSERT_EQ(denied.exit_code, 3) << denied.err;
  EXPECT_THAT(denied.out, HasSubstr("R9"));

  AsOk("ci-bot",
       {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", kImage}});
  start["id"] = "dsse-start-2";
  const std::string envelope = SignDsse("thijmen", start);
  ProcessResult allowed = AppendEnvelope(envelope, "");
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  // Sent again, even re-spaced, it is the same event: the first receipt comes back.
  ProcessResult again = AppendEnvelope(json::parse(envelope).dump(4), "");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["duplicate"], true);

  EXPECT_EQ(Ok({"verify", "--data", data()})["ok"], true);
  ProcessResult timeline = Run({"timeline", "--data", data(), "--deployment", "checkout-1"});
  ASSERT_EQ(timeline.exit_code, 0) << timeline.err;
  EXPECT_THAT(timeline.out, HasSubstr("DENIED"));
  EXPECT_THAT(timeline.out, Not(HasSubstr("BAD SIGNATURE")));
  const std::string bundle = dir_ / "bundle.json";
  Ok({"export", "--data", data(), "--deployment", "checkout-1", "--out", bundle});
  ProcessResult checked =
      Run({"verify-bundle", bundle, "--ledger-key", data() + "/ledger.key.pub"});
  EXPECT_EQ(checked.exit_code, 0) << checked.err << checked.out;
}

TEST_F(DsseCliTest, BadEnvelopesExitTwoNamingTheFaultAndStoreNothing) {
  Init();
  UpToStaging(kImage);
  const uint64_t before = Records();
  auto refused = [&](const std::string& envelope, const std::string& deployment = "checkout-1") {
    ProcessResult r = AppendEnvelope(envelope, deployment);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    return r.err;
  };
  json good = json::parse(SignDsse("ci-bot", VulnStatement(kDigest, "low")));
  json bad = good;
  std::string sig = bad["signatures"][0]["sig"];
  sig[3] = sig[3] == 'A' ? 'B' : 'A';
  bad["signatures"][0]["sig"] = sig;
  EXPECT_THAT(refused(bad.dump()), HasSubstr("does not verify over the envelope's PAE"));
  bad = good;
  bad["signatures"][0]["keyid"] = std::string(64, '0');
  EXPECT_THAT(refused(bad.dump()), HasSubstr("keyid names an enrolled"));
  bad = good;
  bad["payloadType"] = "application/vnd.example+json";
  EXPECT_THAT(refused(bad.dump()), HasSubstr("not one shiplog takes"));
  json sha512 = VulnStatement(kDigest, "low");
  sha512["subject"][0]["digest"] = {{"sha512", std::string(128, 'a')}};
  // `shiplog sign --dsse` will not sign such a statement; another signer might.
  EXPECT_EQ(Run({"sign", "--dsse", "--key", dir_ / "ci-bot.key", Write("s.json", sha512.dump())})
                .exit_code,
            2);
  if (Python3Available()) {
    EXPECT_THAT(refused(PythonSign("ci-bot", "application/vnd.in-toto+json", sha512.dump())),
                HasSubstr("no sha256 digest"));
  }
  bad = good;
  bad["payload"] =
      bad["payload"].get<std::string>().substr(0, bad["payload"].get<std::string>().size() - 1);
  EXPECT_THAT(refused(bad.dump()), HasSubstr("not canonical base64"));
  EXPECT_THAT(refused(good.dump(), ""), HasSubstr("names no deployment"));
  EXPECT_THAT(refused(SignDsse("ci-bot", VulnStatement(std::string(64, 'e'), "low"))),
              HasSubstr("do not include deployment 'checkout-1''s image"));
  // A real Sigstore bundle's envelope: ECDSA, which shiplog does not take.
  std::ifstream in(std::string(SHIPLOG_VECTORS_DIR) +
                   "/intoto/sigstore_staging_dsse_bundle.sigstore.json");
  EXPECT_THAT(refused(json::parse(in)["dsseEnvelope"].dump()),
              HasSubstr("signed with enrolled Ed25519 keys only"));
  EXPECT_EQ(Records(), before);
}

TEST_F(DsseCliTest, AnUnknownPredicateIsListableEvidenceNoRuleCanRequire) {
  Init();
  UpToStaging(kImage);
  json sbom = VulnStatement(kDigest, "low");
  sbom["predicateType"] = "https://spdx.dev/Document";
  ASSERT_EQ(AppendEnvelope(SignDsse("ci-bot", sbom)).exit_code, 0);
  json stored = Ok({"query", "--data", data(), "--kind", "attestation.stored"});
  EXPECT_EQ(stored["event"]["predicate_type"], "https://spdx.dev/Document");
  EXPECT_EQ(stored["event"]["subjects"][0], "registry.example/checkout@sha256:" + kDigest);

  std::ifstream in(SHIPLOG_DEFAULT_POLICY_FILE);
  std::string policy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  policy += R"(
  - id: P2
    name: sbom
    on: {kind: step.started, step: staging}
    require:
      - event: attestation.stored
)";
  ProcessResult lint = Run({"policy", "lint", Write("p.yaml", policy)});
  EXPECT_EQ(lint.exit_code, 2);
  EXPECT_THAT(lint.err + lint.out, HasSubstr("attestation.stored is opaque evidence"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
