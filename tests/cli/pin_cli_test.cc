// `shiplog pin analysisrun` on a local ledger: the real binary, a manual-clock ledger with the
// default pack, and AnalysisRuns as `kubectl get analysisrun -o yaml|json` prints them
// (tests/server/data). A pinned run is one signed gate.result that the canary rule (R15) reads;
// pinning it again records nothing; bad documents exit 2 and record nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_ledger_test.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

std::string DataFile(const std::string& name) { return std::string(ARGO_DATA_DIR) + "/" + name; }

class PinTest : public CliLedgerTest {
 protected:
  void SetUp() override {
    InitWithAgents({{"leon", "coordinator"}, {"rutger", "production-ops"}});
  }

  ProcessResult Pin(const std::string& file, const std::string& input = "") {
    return Run({"pin", "analysisrun", "--data", data(), "--key", dir_ / "rutger.key", file},
               input);
  }

  uint64_t Records() { return Ok({"query", "--data", data(), "--count"})["count"]; }

  // The gate.result records, as `shiplog query` prints them.
  std::vector<json> GateResults() {
    ProcessResult r = Run({"query", "--data", data(), "--kind", "gate.result"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) out.push_back(json::parse(line));
    return out;
  }

  void RequestCanary() {
    AsOk("leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                  {"version", "1.4.2"}, {"image", kImage}, {"strategy", "canary"},
                  {"risk", "low"}, {"planned_steps", {"orchestrate", "production"}}});
  }

  ProcessResult CheckWeight(int weight) {
    return Run({"check", "--data", data(), "--deployment", "checkout-1", "--actor", "rutger",
                "--weight", std::to_string(weight)});
  }
};

TEST_F(PinTest, ASuccessfulRunIsOneGateResultWithItsMetrics) {
  ProcessResult pinned = Pin(DataFile("analysisrun-successful.yaml"));
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  EXPECT_EQ(json::parse(pinned.out)["event_id"], "analysisrun:7c2f9a41-5d3e-4b8a-a1f6-2e9d8c7b6a50");

  std::vector<json> results = GateResults();
  ASSERT_EQ(results.size(), 1u);
  const json& event = results[0]["event"];
  EXPECT_EQ(event["actor"], "rutger");
  EXPECT_EQ(event["deployment"], "checkout-1");
  EXPECT_EQ(event["gate"], "analysis");
  EXPECT_EQ(event["outcome"], "pass");
  EXPECT_EQ(event["image"], kImage) << "from the shiplog.dev/image annotation";
  EXPECT_EQ(event["step"], "production") << "the default pack binds namespace production to it";
  // The latest measurement of each metric; '-' becomes '_'; a Prometheus vector of one is its
  // number; a value that is not a number (the provider's own verdict, "true") is left out.
  EXPECT_EQ(event["metrics"], json({{"error_rate_delta_pct", 0.04}, {"p99_latency_delta_ms", 42.5}}));
}

TEST_F(PinTest, TheJsonFormAndAnAnnotationNameTheDeployment) {
  ProcessResult pinned = Pin(DataFile("analysisrun-successful.json"));
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  std::vector<json> results = GateResults();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["event"]["deployment"], "checkout-1");
  EXPECT_EQ(results[0]["event"]["metrics"],
            json({{"error_rate_delta_pct", 0.01}, {"p99_latency_delta_ms", 12.0}}));
  EXPECT_FALSE(results[0]["event"].contains("image"));
}

TEST_F(PinTest, AFailedRunIsAFailingGateResultWithItsLatestValue) {
  ProcessResult pinned = Pin("-", ReadFile(DataFile("analysisrun-failed.yaml")));
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  std::vector<json> results = GateResults();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["event"]["outcome"], "fail");
  EXPECT_EQ(results[0]["event"]["deployment"], "checkout-1") << "from the label";
  EXPECT_EQ(results[0]["event"]["metrics"], json({{"error_rate_delta_pct", 0.83}}));
}

TEST_F(PinTest, TheStepIsTheOneItsNamespaceIsBoundToUnlessTheRunNamesOne) {
  const std::string yaml = ReadFile(DataFile("analysisrun-successful.yaml"));
  auto in = [&yaml](const std::string& ns, const std::string& uid) {
    std::string text = yaml;
    text.replace(text.find("namespace: production"), 21, "namespace: " + ns);
    return text.replace(text.find("7c2f9a41"), 8, uid);
  };
  ASSERT_EQ(Pin("-", in("staging", "00000001")).exit_code, 0);
  ASSERT_EQ(Pin("-", in("team-sandbox", "00000002")).exit_code, 0);
  std::string named = in("staging", "00000003");
  named.replace(named.find("  - name: service-name"), 0,
                "  - name: shiplog-step\n    value: production\n");
  ASSERT_EQ(Pin("-", named).exit_code, 0);
  std::vector<json> results = GateResults();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["event"]["step"], "staging");
  EXPECT_FALSE(results[1]["event"].contains("step")) << "no environment binds that namespace";
  EXPECT_EQ(results[2]["event"]["step"], "production") << "the run's own arg wins";
}

TEST_F(PinTest, PinnedTwiceIsStoredOnce) {
  ProcessResult first = Pin(DataFile("analysisrun-successful.yaml"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const uint64_t size = Records();
  // The same run again, from stdin this time: one record all the same.
  ProcessResult second = Pin("-", ReadFile(DataFile("analysisrun-successful.yaml")));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  json a = json::parse(first.out), b = json::parse(second.out);
  EXPECT_EQ(b["seq"], a["seq"]);
  EXPECT_EQ(b["duplicate"], true);
  EXPECT_FALSE(a.contains("duplicate"));
  EXPECT_EQ(Records(), size);
  EXPECT_EQ(GateResults().size(), 1u);
}

TEST_F(PinTest, AFailedAnalysisBlocksTheNextWeightAndAPassingOneOpensIt) {
  RequestCanary();
  AsOk("rutger", {{"kind", "traffic.shifted"}, {"weight", 5}});
  Ok({"clock", "advance", "15m", "--data", data()});

  ASSERT_EQ(Pin(DataFile("analysisrun-failed.yaml")).exit_code, 0);
  ProcessResult blocked = CheckWeight(25);
  EXPECT_EQ(blocked.exit_code, 3) << blocked.out;
  json decision = json::parse(blocked.out);
  ASSERT_EQ(decision["reasons"].size(), 1u);
  EXPECT_EQ(decision["reasons"][0]["rule"], "R15");
  EXPECT_THAT(decision["reasons"][0]["message"].get<std::string>(),
              HasSubstr("no passing analysis"));

  ASSERT_EQ(Pin(DataFile("analysisrun-successful.yaml")).exit_code, 0);
  ProcessResult open = CheckWeight(25);
  EXPECT_EQ(open.exit_code, 0) << open.out;
  AsOk("rutger", {{"kind", "traffic.shifted"}, {"weight", 25}});
}

// A run as kubectl prints it, with `from` replaced by `to` (one line of test data changed).
std::string Edited(const std::string& file, const std::string& from, const std::string& to) {
  std::string text = ReadFile(DataFile(file));
  const size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error(from + " not in " + file);
  return text.replace(at, from.size(), to);
}

TEST_F(PinTest, BadDocumentsExitTwoNamingWhatIsWrongAndRecordNothing) {
  const std::string ok = "analysisrun-successful.yaml";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {ReadFile(DataFile("analysisrun-running.yaml")), "is not finished (status.phase Running)"},
      {Edited(ok, "phase: Successful\n  runSummary", "phase: Pending\n  runSummary"),
       "is not finished (status.phase Pending)"},
      {Edited(ok, "  phase: Successful\n  runSummary", "  runSummary"), "status.phase not set"},
      {Edited(ok, "kind: AnalysisRun", "kind: AnalysisTemplate"),
       "kind is 'AnalysisTemplate', not AnalysisRun"},
      {Edited(ok, "apiVersion: argoproj.io/v1alpha1\nkind", "apiVersion: v1\nkind"),
       "apiVersion is 'v1'"},
      {Edited(ok, "  uid: 7c2f9a41-5d3e-4b8a-a1f6-2e9d8c7b6a50\n", ""), "metadata.uid is missing"},
      {Edited(ok, "  uid: 7c2f9a41-5d3e-4b8a-a1f6-2e9d8c7b6a50\n", "  uid: [1, 2]\n"),
       "metadata.uid must be text, not a list"},
      {Edited(ok, "  - name: shiplog-deployment\n    value: checkout-1\n", ""),
       "names no shiplog deployment: give the AnalysisTemplate an arg 'shiplog-deployment', or "
       "the run a label or annotation 'shiplog.dev/deployment'"},
      {Edited(ok, "value: checkout-1", "value: \"check out\""), "field 'deployment'"},
      {Edited(ok, "    step-index: \"2\"", "    shiplog.dev/deployment: checkout-2"),
       "names two deployments: 'checkout-1' in spec.args 'shiplog-deployment' and 'checkout-2' "
       "in metadata.labels"},
      {Edited(ok, "metricResults:\n  - count: 1", "metricResults:\n  - 7\n  - count: 1"),
       "status.metricResults holds text, not a metric result"},
      {"apiVersion: argoproj.io/v1alpha1\nkind: AnalysisRun\nmetadata: {uid: [\n",
       "not valid YAML: line"},
      {"{\"apiVersion\": \"argoproj.io/v1alpha1\", \"kind\": ", "not valid JSON"},
      {"apiVersion: v1\nkind: List\nitems: []\n", "is a List: pin one AnalysisRun at a time"},
      {"- just\n- a list\n", "the document is a list, not an AnalysisRun"},
      {"", "the AnalysisRun is empty"},
      {std::string(3000, '['), "nests deeper than 64 levels"},
      {std::string(100, '[') + std::string(100, ']'), "nests deeper than 64 levels"},
      {std::string(3000, '{'), "not valid JSON"},
      // Aliases of aliases: 9^6 nodes from a few hundred bytes.
      {"a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
       "expands to more than"},
  };
  const uint64_t size = Records();
  for (const auto& [text, message] : cases) {
    ProcessResult r = Pin("-", text);
    EXPECT_EQ(r.exit_code, 2) << message << "\n" << r.out;
    EXPECT_THAT(r.err, HasSubstr(message)) << text.substr(0, 200);
  }
  EXPECT_EQ(Records(), size);
}

TEST_F(PinTest, OptionsSayWhereToRecord) {
  const std::string file = DataFile("analysisrun-successful.yaml");
  ProcessResult neither = Run({"pin", "analysisrun", file});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_THAT(neither.err, HasSubstr("give --data DIR (a local ledger) or --server URL"));
  ProcessResult no_key = Run({"pin", "analysisrun", "--data", data(), file});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_THAT(no_key.err, HasSubstr("--data needs --key FILE"));
  ProcessResult both = Run({"pin", "analysisrun", "--data", data(), "--server",
                            "http://127.0.0.1:1", "--key", dir_ / "rutger.key", file});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("not both"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
