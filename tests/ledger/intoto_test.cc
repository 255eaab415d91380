// Tests of ledger/intoto.h: in-toto Statement v1 parsing and the facts each predicate states.
#include "ledger/intoto.h"

#include <fstream>

#include "test_util.h"

#ifndef SHIPLOG_VECTORS_DIR
#error "SHIPLOG_VECTORS_DIR must point at tests/vectors"
#endif

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

namespace intoto = shiplog::intoto;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const std::string kDigest = "c09409f9d12e13bef654963af3476db82cc0c67788188238e4ccb38f51b84dbd";

json Statement(const std::string& predicate_type, const json& predicate,
               json subjects = json::array({{{"name", "app"},
                                             {"digest", {{"sha256", kDigest}}}}})) {
  return {{"_type", "https://in-toto.io/Statement/v1"},
          {"subject", subjects},
          {"predicateType", predicate_type},
          {"predicate", predicate}};
}

std::vector<json> FactsOf(const json& statement) {
  const std::string text = statement.dump();
  auto parsed = intoto::ParseStatement(text);
  EXPECT_OK(parsed.status());
  if (!parsed.ok()) return {};
  return Unwrap(intoto::Facts(*parsed, text), "Facts");
}

std::string Refusal(const json& statement) {
  const std::string text = statement.dump();
  auto parsed = intoto::ParseStatement(text);
  if (!parsed.ok()) return parsed.status().message();
  auto facts = intoto::Facts(*parsed, text);
  return facts.ok() ? "" : facts.status().message();
}

TEST(InTotoStatement, TheSlsaExampleIsABuildGateForItsSubject) {
  std::ifstream in(std::string(SHIPLOG_VECTORS_DIR) +
                   "/intoto/slsa_provenance_v1_github_actions_workflow_example.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto statement = intoto::ParseStatement(text);
  ASSERT_OK(statement.status());
  ASSERT_THAT(statement->subjects, SizeIs(1));
  EXPECT_EQ(statement->subjects[0].ToString(),
            "_@sha256:fe4fe40ac7250263c5dbe1cf3138912f3f416140aa248637a60d65fe22c47da4");
  auto facts = Unwrap(intoto::Facts(*statement, text), "Facts");
  ASSERT_THAT(facts, SizeIs(1));
  EXPECT_EQ(facts[0]["kind"], "gate.result");
  EXPECT_EQ(facts[0]["gate"], "build");
  EXPECT_EQ(facts[0]["outcome"], "pass");
  EXPECT_EQ(facts[0]["image"],
            "sha256:fe4fe40ac7250263c5dbe1cf3138912f3f416140aa248637a60d65fe22c47da4");
  EXPECT_EQ(facts[0]["predicate_type"], "https://slsa.dev/provenance/v1");
  EXPECT_THAT(facts[0]["producer"].get<std::string>(), HasSubstr("builder_go_slsa3.yml"));
}

TEST(InTotoStatement, ProvenanceWithoutItsRequiredFieldsIsRefused) {
  EXPECT_THAT(
      Refusal(Statement("https://slsa.dev/provenance/v1", {{"buildDefinition", json::object()}})),
      HasSubstr("runDetails.builder.id"));
}

TEST(InTotoStatement, EachSubjectGetsItsOwnGateResult) {
  json subjects = {
      {{"name", "a"}, {"digest", {{"sha256", kDigest}}}},
      {{"digest", {{"sha256", std::string(64, 'b')}, {"sha512", std::string(128, 'c')}}}}};
  auto facts =
      FactsOf(Statement("https://in-toto.io/attestation/test-result/v0.1",
                        {{"result", "PASSED"}, {"configuration", json::array()}}, subjects));
  ASSERT_THAT(facts, SizeIs(2));
  EXPECT_EQ(facts[0]["image"], "sha256:" + kDigest);
  EXPECT_EQ(facts[1]["image"], "sha256:" + std::string(64, 'b'));
}

TEST(InTotoStatement, TestResultsPassFailAndCounts) {
  json predicate = {{"result", "FAILED"},
                    {"configuration", json::array()},
                    {"url", "https://ci.example/run/7"},
                    {"passedTests", {"a", "b", "c"}},
                    {"failedTests", {"d"}}};
  auto facts = FactsOf(Statement("https://in-toto.io/attestation/test-result/v0.1", predicate));
  ASSERT_THAT(facts, SizeIs(1));
  EXPECT_EQ(facts[0]["gate"], "tests");
  EXPECT_EQ(facts[0]["outcome"], "fail");
  EXPECT_EQ(facts[0]["metrics"], (json{{"passed", 3}, {"warned", 0}, {"failed", 1}}));
  EXPECT_EQ(facts[0]["producer"], "https://ci.example/run/7");
  predicate["result"] = "WARNED";
  EXPECT_EQ(FactsOf(Statement("https://in-toto.io/attestation/test-result/v0.1",
                              predicate))[0]["outcome"],
            "pass");
  predicate["result"] = "passed";
  EXPECT_THAT(Refusal(Statement("https://in-toto.io/attestation/test-result/v0.1", predicate)),
              HasSubstr("PASSED, WARNED or FAILED"));
}

TEST(InTotoStatement, VulnsV01CountsBySeverityTheWorstOfEachVulnerability) {
  json result = json::array({
      {{"id", "CVE-1"},
       {"severity",
        {{{"method", "nvd"}, {"score", "medium"}}, {{"method", "cvss_score"}, {"score", "9.8"}}}}},
      {{"id", "CVE-2"}, {"severity", {{{"method", "nvd"}, {"score", "HIGH"}}}}},
      {{"id", "CVE-3"}, {"severity", {{{"method", "cvss_score"}, {"score", "5.2"}}}}},
      {{"id", "CVE-4"}, {"severity", {{{"method", "cvss_v3"}, {"score", "CVSS:3.1/AV:N"}}}}},
      {{"vulnerability", {{"id", "CVE-5"}, {"severity", {{{"method", "nvd"}, {"score", "low"}}}}}}},
  });
  json predicate = {
      {"scanner", {{"uri", "pkg:github/aquasecurity/trivy@244fd47"}, {"result", result}}},
      {"metadata", {{"scanStartedOn", "2026-12-01T00:00:00Z"}}}};
  auto facts = FactsOf(Statement("https://in-toto.io/attestation/vulns/v0.1", predicate));
  ASSERT_THAT(facts, SizeIs(1));
  EXPECT_EQ(facts[0]["gate"], "scan");
  EXPECT_EQ(facts[0]["outcome"], "pass");
  EXPECT_EQ(facts[0]["producer"], "pkg:github/aquasecurity/trivy@244fd47");
  EXPECT_EQ(facts[0]["metrics"], (json{{"critical", 1},
                                       {"high", 1},
                                       {"medium", 1},
                                       {"low", 1},
                                       {"negligible", 0},
                                       {"unknown", 1},
                                       {"total", 5}}));
  // An empty list is a scan that found nothing.
  predicate["scanner"]["result"] = json::array();
  EXPECT_EQ(FactsOf(Statement("https://in-toto.io/attestation/vulns/v0.1",
                              predicate))[0]["metrics"]["total"],
            0);
}

TEST(InTotoStatement, CosignVulnStatementsWithTrivyAndGrypeReports) {
  json trivy = {{"Results",
                 {{{"Target", "img"},
                   {"Vulnerabilities", {{{"Severity", "CRITICAL"}}, {{"Severity", "LOW"}}}}},
                  {{"Target", "os"}}}}};
  json predicate = {
      {"scanner", {{"uri", "pkg:github/aquasecurity/trivy@v0.30"}, {"result", trivy}}}};
  auto facts = FactsOf(Statement("https://cosign.sigstore.dev/attestation/vuln/v1", predicate));
  EXPECT_EQ(facts.at(0)["metrics"]["critical"], 1);
  EXPECT_EQ(facts.at(0)["metrics"]["low"], 1);
  json grype = {{"matches",
                 {{{"vulnerability", {{"severity", "High"}}}},
                  {{"vulnerability", {{"severity", "Negligible"}}}}}}};
  predicate["scanner"]["result"] = grype;
  facts = FactsOf(Statement("cosign.sigstore.dev/attestation/vuln/v1", predicate));
  EXPECT_EQ(facts.at(0)["metrics"]["high"], 1);
  EXPECT_EQ(facts.at(0)["metrics"]["negligible"], 1);
  predicate["scanner"]["result"] = {{"report", "opaque"}};
  EXPECT_THAT(Refusal(Statement("https://cosign.sigstore.dev/attestation/vuln/v1", predicate)),
              HasSubstr("cannot be counted"));
}

TEST(InTotoStatement, AnUnknownPredicateIsStoredEvidence) {
  json subjects = {{{"name", "app"}, {"digest", {{"sha256", kDigest}}}},
                   {{"digest", {{"sha256", std::string(64, 'e')}}}}};
  const json statement = Statement("https://example.com/sbom/v9", {{"anything", 1}}, subjects);
  auto facts = FactsOf(statement);
  ASSERT_THAT(facts, SizeIs(1));
  EXPECT_EQ(facts[0]["kind"], "attestation.stored");
  EXPECT_EQ(facts[0]["predicate_type"], "https://example.com/sbom/v9");
  EXPECT_EQ(facts[0]["subjects"],
            (json{"app@sha256:" + kDigest, "sha256:" + std::string(64, 'e')}));
  EXPECT_EQ(facts[0]["statement_sha256"],
            shiplog::HexEncode(shiplog::AsBytes(shiplog::Sha256(statement.dump()))));
}

TEST(InTotoStatement, RefusesWhatIsNotAStatementV1NamingTheFault) {
  json s = Statement("https://example.com/p", json::object());
  s["_type"] = "https://in-toto.io/Statement/v0.1";
  EXPECT_THAT(Refusal(s), HasSubstr("_type"));
  s = Statement("https://example.com/p", json::object(), json::array());
  EXPECT_THAT(Refusal(s), HasSubstr("non-empty subject"));
  s = Statement("https://example.com/p", json::object(),
                {{{"name", "x"}, {"digest", {{"sha512", std::string(128, 'a')}}}}});
  EXPECT_THAT(Refusal(s), HasSubstr("subject[0] has no sha256 digest (it has: sha512)"));
  s = Statement("https://example.com/p", json::object(),
                {{{"digest", {{"sha256", std::string(64, 'A')}}}}});
  EXPECT_THAT(Refusal(s), HasSubstr("64 lowercase hex"));
  s = Statement("", json::object());
  EXPECT_THAT(Refusal(s), HasSubstr("predicateType"));
  s = Statement("https://example.com/p", json::array());
  EXPECT_THAT(Refusal(s), HasSubstr("predicate must be a JSON object"));
  EXPECT_THAT(intoto::ParseStatement("[1]").status().message(), HasSubstr("JSON object"));
  // Fields the spec does not define are ignored, as its parsing rules ask.
  s = Statement("https://example.com/p", json::object());
  s["extension"] = {{"x", 1}};
  EXPECT_EQ(Refusal(s), "");
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
