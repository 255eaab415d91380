// The reviewers' console (adapters/console/) in a real browser: Debian's chromium, driven
// headless by puppeteer-core from tests/console/browser_test.mjs, against the real `shiplog serve`
// on loopback.
//
// This driver seeds a manual-clock ledger with the default pack (the server stopped: it holds the
// ledger while it runs) with the histories a reviewer meets: two apps in two environments, a
// completed deployment with a denied start on the way, a canary walked through its phases and
// rolled back under a waiver, a request denied by one-at-a-time, a deployment whose fields hold
// script-injection payloads, a 1,000-event deployment, an incident opened and resolved, and a
// key enrolled then revoked. It writes what the browser test must find (seed.json: each list
// filter's deployments, the decisions and rules on the pages) and two events signed in advance
// for the live list (live.json), starts the server, and runs
//
//   node browser_test.mjs --url URL --ledger-key HEX --reader-key FILE --screenshots DIR
//                         --seed seed.json --live live.json
//
// whose exit status is the verdict; its output (METRIC lines with the timings) is printed.
// Skipped when node, chromium or tests/console/node_modules (tools/setup.sh) is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "policy/policy_gate.h"
#include "tests/cli/process.h"
#include "tests/cli/test_ledger.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using json = nlohmann::json;

const std::string kWebImage =
    "registry.example/web@sha256:1b3d5f7092a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6";
const std::string kApiImage =
    "registry.example/api@sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";
const std::string kBatchImage =
    "registry.example/batch@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

// What an attacker who can sign an event might put in a text field. The page must show it as
// text; window.__pwned must stay undefined.
const std::string kImgPayload = "<img src=x onerror=\"window.__pwned=1\">";
const std::string kScriptPayload = "</script><script>window.__pwned=1</script>";

// The agents of the seed (name -> roles); audrey, an auditor, is the reader the browser signs as.
std::map<std::string, std::vector<std::string>> Agents() {
  return {{"leon", {"coordinator"}},       {"marta", {"merge-approver"}},
          {"ci-bot", {"ci"}},              {"thijmen", {"k8s-operator"}},
          {"rutger", {"production-ops"}},  {"otto", {"backup"}},
          {"rm", {"release-manager"}},     {"kim", {"incident-commander"}},
          {"audrey", {"auditor"}},         {"mallory", {"coordinator"}}};
}

// The chromium to drive: $SHIPLOG_CHROMIUM, else the one CMake found (Debian's /usr/bin/chromium).
std::string Chromium() {
  const char* value = std::getenv("SHIPLOG_CHROMIUM");
  return value && *value ? value : SHIPLOG_CHROMIUM_PATH;
}

// The ledger open for appends through its policy, as `shiplog append` opens it, with each
// agent's key: the whole seed in one open (a thousand opens would dominate the test's time).
class Seeder {
 public:
  explicit Seeder(const ServerProcess& server) : server_(server) {
    auto ledger = Ledger::Open(server.data(), &clock_, &gate_);
    if (!ledger.ok()) throw std::runtime_error(ledger.status().ToString());
    ledger_ = std::move(ledger).value();
    for (const auto& [name, roles] : Agents()) keys_.emplace(name, Key(server.key(name)));
    keys_.emplace("admin", Key(server.admin_key()));
    admin_name_ = *ledger_->EnrolledName(keys_.at("admin"));
  }

  // Appends `event` for `deployment` signed by `agent`; the receipt (a denial is one too).
  Receipt As(const std::string& agent, const std::string& deployment, json event) {
    event["id"] = "console-seed-" + std::to_string(++ids_);
    event["actor"] = agent == "admin" ? admin_name_ : agent;
    if (!deployment.empty()) event["deployment"] = deployment;
    auto signed_event = SignedEvent::SignJson(event, keys_.at(agent));
    if (!signed_event.ok()) throw std::runtime_error(signed_event.status().ToString());
    auto receipt = ledger_->Append(*signed_event);
    if (!receipt.ok()) {
      throw std::runtime_error("appending " + event.dump() + ": " + receipt.status().ToString());
    }
    return std::move(receipt).value();
  }

  // Appends `event` and requires the policy to have allowed it; its seq.
  uint64_t Allowed(const std::string& agent, const std::string& deployment, json event) {
    Receipt r = As(agent, deployment, event);
    if (r.denied) throw std::runtime_error("denied: " + event.dump() + ": " + r.decision);
    return r.seq;
  }

  // Appends an intent the policy must deny; the seq of its policy.denied record.
  uint64_t Denied(const std::string& agent, const std::string& deployment, json event) {
    Receipt r = As(agent, deployment, event);
    if (!r.denied) throw std::runtime_error("allowed, expected a denial: " + event.dump());
    return r.seq;
  }

  void Advance(const std::string& duration) {
    Status advanced = ledger_->AdvanceClock(*ParseDuration(duration));
    if (!advanced.ok()) throw std::runtime_error(advanced.ToString());
  }

  std::string PublicKeyHex(const std::string& agent) const {
    return HexEncode(keys_.at(agent).PublicKey());
  }

  // `event` signed by `agent` as `shiplog sign` would, for the browser test to POST later.
  json SignForLater(const std::string& agent, const std::string& deployment, json event) const {
    event["actor"] = agent;
    event["deployment"] = deployment;
    return SignTestEvent(server_.key(agent), event);
  }

 private:
  static SigningKey Key(const std::string& file) {
    auto key = ReadKeyFile(file);
    if (!key.ok()) throw std::runtime_error(key.status().ToString());
    return std::move(key).value();
  }

  const ServerProcess& server_;
  SystemClock clock_;
  policy::PolicyGate gate_;
  std::unique_ptr<Ledger> ledger_;
  std::map<std::string, SigningKey> keys_;
  std::string admin_name_;
  int ids_ = 0;
};

json Request(const std::string& app, const std::string& environment, const std::string& image,
             const std::string& strategy, const std::vector<std::string>& steps) {
  return {{"kind", "deploy.requested"}, {"app", app}, {"environment", environment},
          {"version", "2.0.1"}, {"image", image}, {"strategy", strategy}, {"risk", "low"},
          {"planned_steps", steps}};
}

json Step(const std::string& kind, const std::string& step, const std::string& status = "") {
  json event = {{"kind", kind}, {"step", step}};
  if (!status.empty()) event["status"] = status;
  return event;
}

json Analysis(bool pass, double error_rate_delta) {
  return {{"kind", "gate.result"}, {"gate", "analysis"}, {"outcome", pass ? "pass" : "fail"},
          {"metrics", {{"error_rate_delta_pct", error_rate_delta}, {"p99_latency_delta_ms", 12}}}};
}

// The request, the merge approved, orchestrate and build READY, the scan passed, staging
// started: every step the default pack allows on the way to a staging READY.
void WalkToStaging(Seeder& s, const std::string& id, const json& request) {
  s.Allowed("leon", id, request);
  s.Allowed("marta", id, {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  s.Allowed("leon", id, Step("step.started", "orchestrate"));
  s.Allowed("leon", id, Step("step.reported", "orchestrate", "READY"));
  s.Allowed("ci-bot", id, Step("step.started", "build"));
  s.Allowed("ci-bot", id, Step("step.reported", "build", "READY"));
  s.Allowed("ci-bot", id, {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                           {"image", request.at("image")}});
  s.Allowed("thijmen", id, Step("step.started", "staging"));
}

// What the browser test must find about each deployment, by id (seed.json "deployments").
using Expected = json;

// An incident in production, opened and resolved before any deployment (DORA's time to restore;
// R6 would hold production starts while it is open).
void SeedIncident(Seeder& s) {
  s.Allowed("kim", "", {{"kind", "incident.opened"}, {"environment", "production"},
                        {"incident", "INC-1"}, {"severity", "sev2"}});
  s.Advance("45m");
  s.Allowed("kim", "", {{"kind", "incident.resolved"}, {"environment", "production"},
                        {"incident", "INC-1"}, {"severity", "sev2"}});
  s.Advance("5m");
}

// web-1042: production, completed; its first production start is denied (staging had not soaked
// 15 minutes: R10), the second allowed.
void SeedCompleted(Seeder& s, Expected& expected) {
  const std::string id = "web-1042";
  WalkToStaging(s, id, Request("web", "production", kWebImage, "rolling",
                               {"orchestrate", "build", "staging", "production"}));
  const uint64_t staging_ready = s.Allowed("thijmen", id, Step("step.reported", "staging", "READY"));
  s.Allowed("otto", id, {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-7"},
                         {"restore_tested", true}});
  const uint64_t denied = s.Denied("rutger", id, Step("step.started", "production"));
  s.Advance("16m");
  const uint64_t production = s.Allowed("rutger", id, Step("step.started", "production"));
  s.Allowed("rutger", id, Step("step.reported", "production", "READY"));
  s.Advance("16m");
  s.Allowed("leon", id, {{"kind", "deploy.completed"}});
  expected[id] = {{"status", "completed"},
                  {"denied", {{{"seq", denied}, {"rule", "R10"}}}},
                  {"allowed", {{{"seq", production}, {"rules", {"R10", "R12", "R13"}}}}},
                  {"soak", "staging READY at #" + std::to_string(staging_ready)},
                  {"replay", {{"seq", staging_ready}, {"step", "production"}, {"rule", "R10"}}}};
}

// api-77: a production canary; R10 waived (a hotfix), shifted 5, 25, 50; the raise to 100 is
// denied (R15: 50% held 20 minutes of its hour, and the last analysis failed), then rolled back.
// Meanwhile api-78 asks for the same app and environment and is refused (R5).
void SeedCanary(Seeder& s, Expected& expected) {
  const std::string id = "api-77";
  WalkToStaging(s, id, Request("api", "production", kApiImage, "canary",
                               {"orchestrate", "build", "staging", "production"}));
  s.Allowed("thijmen", id, Step("step.reported", "staging", "READY"));
  s.Allowed("otto", id, {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-8"}});
  const std::string reason = "INC-4471 hotfix: staging checked by hand, soak waived";
  const uint64_t waiver =
      s.Allowed("rm", id, {{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", reason}});
  const uint64_t production = s.Allowed("rutger", id, Step("step.started", "production"));
  s.Allowed("rutger", id, Step("step.reported", "production", "READY"));
  s.Allowed("rutger", id, {{"kind", "traffic.shifted"}, {"weight", 5}});
  const uint64_t refused = s.Denied("leon", "api-78", Request("api", "production", kApiImage,
                                                              "rolling", {"orchestrate"}));
  expected["api-78"] = {{"status", "denied"}, {"denied", {{{"seq", refused}, {"rule", "R5"}}}}};
  s.Advance("16m");
  s.Allowed("rutger", id, Analysis(true, 0.02));
  s.Allowed("rutger", id, {{"kind", "traffic.shifted"}, {"weight", 25}});
  s.Advance("31m");
  s.Allowed("rutger", id, Analysis(true, 0.03));
  s.Allowed("rutger", id, {{"kind", "traffic.shifted"}, {"weight", 50}});
  s.Advance("20m");
  s.Allowed("rutger", id, Analysis(false, 0.8));
  const uint64_t raise = s.Denied("rutger", id, {{"kind", "traffic.shifted"}, {"weight", 100}});
  s.Allowed("rutger", id, {{"kind", "rollback.started"}, {"zone", "production"},
                           {"reason", "error rate up 0.8% in the canary"}});
  s.Advance("3m");
  s.Allowed("rutger", id, {{"kind", "rollback.completed"}, {"zone", "production"},
                           {"reason", "back on the previous image"}});
  expected[id] = {{"status", "rolled back"},
                  {"denied", {{{"seq", raise}, {"rule", "R15"}}}},
                  {"allowed", {{{"seq", production}, {"rules", {"R10"}}}}},
                  {"waiver", {{"seq", waiver}, {"rule", "R10"}, {"reason", reason}}},
                  {"canary", {"canary 5%", "canary 25%", "canary 50%"}}};
}

// web-1043: staging, in progress; attacker-controlled text in a report's details, a blocker and
// a waiver's reason. Its request time (the list's `since` filter).
Micros SeedInjection(Seeder& s, Expected& expected) {
  const std::string id = "web-1043";
  s.Advance("2m");
  const Receipt request = s.As("leon", id, Request("web", "staging", kWebImage, "rolling",
                                                   {"orchestrate", "build", "staging"}));
  if (request.denied) throw std::runtime_error("web-1043's request was denied: " + request.decision);
  s.Allowed("marta", id, {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  s.Allowed("leon", id, Step("step.started", "orchestrate"));
  s.Allowed("leon", id, Step("step.reported", "orchestrate", "READY"));
  s.Allowed("ci-bot", id, Step("step.started", "build"));
  json report = Step("step.reported", "build", "READY");
  report["details"] = "built " + kImgPayload + " " + kScriptPayload;
  s.Allowed("ci-bot", id, report);
  s.Allowed("ci-bot", id, {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                           {"image", kWebImage}});
  s.Allowed("thijmen", id, Step("step.started", "staging"));
  json blocked = Step("step.reported", "staging", "BLOCKED");
  blocked["details"] = kScriptPayload;
  blocked["blockers"] = {kImgPayload};
  s.Allowed("thijmen", id, blocked);
  s.Allowed("rm", id, {{"kind", "waiver.granted"}, {"rule", "R16"},
                       {"reason", "reviewed " + kImgPayload + kScriptPayload}});
  s.Allowed("thijmen", id, Step("step.reported", "staging", "READY"));
  expected[id] = {{"status", "in progress"}, {"injection", true}};
  return request.ledger_time;
}

// batch-7: 1,000 events (gate results and build reports, five seconds apart).
void SeedThousand(Seeder& s, Expected& expected) {
  const std::string id = "batch-7";
  const int events = 1000;
  s.Allowed("leon", id, Request("batch", "staging", kBatchImage, "rolling",
                                {"orchestrate", "build", "staging"}));
  s.Allowed("marta", id, {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  s.Allowed("leon", id, Step("step.started", "orchestrate"));
  s.Allowed("leon", id, Step("step.reported", "orchestrate", "READY"));
  s.Allowed("ci-bot", id, Step("step.started", "build"));
  for (int i = 5; i < events; ++i) {
    s.Advance("5s");
    if (i % 10 == 0) {
      json report = Step("step.reported", "build", "READY");
      report["details"] = "rebuild " + std::to_string(i);
      s.Allowed("ci-bot", id, report);
    } else {
      s.Allowed("ci-bot", id, {{"kind", "gate.result"}, {"gate", i % 2 ? "tests" : "lint"},
                               {"outcome", "pass"}, {"metrics", {{"run", i}}}});
    }
  }
  expected[id] = {{"status", "in progress"}, {"events", events}};
}

// Each list filter and the deployments it must show, newest request first. `since`: web-1043's
// request time (batch-7 was requested at the same ledger time, after it).
json ListFilters(const std::string& since) {
  return json::array({
      {{"params", json::object()},
       {"expect", {"batch-7", "web-1043", "api-78", "api-77", "web-1042"}}},
      {{"params", {{"app", "web"}}}, {"expect", {"web-1043", "web-1042"}}},
      {{"params", {{"environment", "staging"}}}, {"expect", {"batch-7", "web-1043"}}},
      {{"params", {{"environment", "production"}}}, {"expect", {"api-78", "api-77", "web-1042"}}},
      {{"params", {{"status", "completed"}}}, {"expect", {"web-1042"}}},
      {{"params", {{"status", "rolled back"}}}, {"expect", {"api-77"}}},
      {{"params", {{"status", "denied"}}}, {"expect", {"api-78"}}},
      {{"params", {{"status", "in progress"}}}, {"expect", {"batch-7", "web-1043"}}},
      {{"params", {{"app", "api"}, {"status", "denied"}}}, {"expect", {"api-78"}}},
      {{"params", {{"actor", "rm"}}}, {"expect", {"web-1043", "api-77"}}},
      {{"params", {{"since", since}}}, {"expect", {"batch-7", "web-1043"}}},
  });
}

// Everything seeded, in ledger order, and what the browser must find (seed.json).
json Seed(Seeder& s) {
  Expected deployments = json::object();
  SeedIncident(s);
  SeedCompleted(s, deployments);
  SeedCanary(s, deployments);
  const Micros since = SeedInjection(s, deployments);
  SeedThousand(s, deployments);
  // mallory's key, enrolled with the others, is revoked.
  s.Allowed("admin", "", {{"kind", "key.revoked"}, {"public_key", s.PublicKeyHex("mallory")},
                          {"reason", "left the team"}});
  return {{"deployments", deployments},
          {"filters", ListFilters(FormatTime(since))},
          {"image", kWebImage},
          {"revoked", "mallory"},
          // web-1042 is the one completed deployment; INC-1 was resolved 45 minutes after it opened.
          {"dora", {{"since", "2026-11-24T00:00:00Z"}, {"deployments", 1}, {"restore", "45m"}}},
          {"big", "batch-7"},
          {"injection", "web-1043"}};
}

// Two events signed now and appended by the browser test while the list is open: a gate result
// for a deployment on screen, and a new deployment's request.
json LiveEvents(const Seeder& s) {
  return {{"update", {{"deployment", "web-1043"},
                      {"body", s.SignForLater("thijmen", "web-1043",
                                              {{"kind", "gate.result"}, {"gate", "smoke"},
                                               {"outcome", "pass"}, {"image", kWebImage}})}}},
          {"new", {{"deployment", "api-80"},
                   {"body", s.SignForLater("leon", "api-80",
                                           Request("api", "staging", kApiImage, "rolling",
                                                   {"orchestrate", "build", "staging"}))}}}};
}

std::string MissingTool() {
  const std::string node = SHIPLOG_NODE;
  if (node.empty() || !std::filesystem::exists(node)) return "node (tools/setup.sh installs it)";
  if (Chromium().empty() || !std::filesystem::exists(Chromium())) {
    return "chromium (tools/setup.sh installs Debian's)";
  }
  if (!std::filesystem::exists(std::string(CONSOLE_TEST_DIR) + "/node_modules/puppeteer-core")) {
    return "tests/console/node_modules (tools/setup.sh runs npm ci there)";
  }
  return "";
}

TEST(ConsoleBrowser, ReviewersFindVerifyAndReplayDeploymentsInChromium) {
  if (const std::string missing = MissingTool(); !missing.empty()) {
    GTEST_SKIP() << "no " << missing;
  }
  ServerProcess server(Agents());
  json seed, live;
  {
    Seeder seeder(server);
    seed = Seed(seeder);
    live = LiveEvents(seeder);
  }  // the ledger is closed before the server opens it
  server.Start();

  ScratchDir files;
  WriteFile(files / "seed.json", seed.dump(2));
  WriteFile(files / "live.json", live.dump(2));
  const std::string screenshots = CONSOLE_SCREENSHOTS_DIR;
  std::filesystem::create_directories(screenshots);

  ProcessResult run = RunProcess({SHIPLOG_NODE, std::string(CONSOLE_TEST_DIR) + "/browser_test.mjs",
                                  "--url", server.url(),
                                  "--ledger-key", HexEncode(LedgerPublicKey(server.data())),
                                  "--reader-key", server.key("audrey"),
                                  "--screenshots", screenshots,
                                  "--seed", files / "seed.json",
                                  "--live", files / "live.json",
                                  "--chromium", Chromium()});
  // The timings are wanted whatever the verdict (BENCHMARKS.md takes them from here).
  std::cout << run.out;
  EXPECT_EQ(run.exit_code, 0) << "browser_test.mjs failed:\n"
                              << run.out << run.err << "\nserver log:\n"
                              << server.Log();
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
