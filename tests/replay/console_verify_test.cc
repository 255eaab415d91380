// The console's in-browser verifier (adapters/console/verify.js) against a real ledger.
//
// A manual-clock ledger under the default pack runs one canary deployment with every shape a
// record takes: enums, nested structs, lists, a metrics map, $time and $hex fields, a denied
// intent, a waiver, a rollback without its expected reason, two events that came in DSSE envelopes
// (a shiplog event and an in-toto statement) and a denied intent in one, text an attacker would
// write. Its records, their inclusion proofs, the latest checkpoint, the record schema
// (ConsoleSchemaJson) and what the server shows of each record (StoredRecord::ToJson and the
// timeline's entry) go into a JSON fixture; tests/console/verify_test.mjs then checks, in Node
// with WebCrypto, that every record verifies and decodes to exactly the server's JSON, and that
// each kind of tampering is flagged. The test skips when no node is found; with
// SHIPLOG_CONSOLE_FIXTURE=PATH set it also leaves a copy of the fixture at PATH.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/console_schema.h"
#include "ledger/dsse.h"
#include "ledger/event_schema.h"
#include "ledger/ledger.h"
#include "policy/policy.h"
#include "policy/policy_gate.h"
#include "replay/timeline.h"
#include "tests/cli/process.h"

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using json = nlohmann::json;

constexpr Micros kStart = 1795543200LL * kMicrosPerSecond;  // 2026-11-24T18:00:00Z
constexpr Micros kMinute = kMicrosPerMinute;
const std::string kDeployment = "checkout-7";
const std::string kDigest = "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kImage = "registry.example/checkout@sha256:" + kDigest;
// Text a reviewer's browser must show, not run; and a byte-order mark and characters outside
// the BMP, which a decoder could drop or mangle.
const std::string kHostile =
    "\xEF\xBB\xBF</script><img src=x onerror=alert(1)> \xF0\x9F\x9A\x80 \"'&";

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.status().ToString());
  return std::move(r).value();
}
void Must(const Status& s, const std::string& what) {
  if (!s.ok()) throw std::runtime_error(what + ": " + s.ToString());
}

// A manual-clock ledger under the default pack, with a key per person of the deploy team.
class ConsoleLedger {
 public:
  ConsoleLedger() {
    InitCrypto();
    InitOptions options;
    options.admin_public_key = admin_.PublicKey();
    options.manual_clock = true;
    options.manual_clock_start = kStart;
    options.policy = policy::DefaultPolicyText();
    Must(Ledger::Init(dir_ / "data", options, &unused_clock_), "Init");
    ledger_ = Must(Ledger::Open(dir_ / "data", &unused_clock_, &gate_), "Open");
    for (auto [name, role] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "coordinator"}, {"marta", "merge-approver"}, {"ci-bot", "ci"},
             {"thijmen", "k8s-operator"}, {"rutger", "production-ops"}, {"otto", "backup"},
             {"rm", "release-manager"}, {"ic", "incident-commander"}}) {
      SigningKey key = SigningKey::Generate();
      Sign("admin", admin_, {{"kind", "key.enrolled"}, {"name", name},
                             {"public_key", HexEncode(key.PublicKey())}, {"roles", {role}}});
      keys_.emplace(name, std::move(key));
    }
  }

  // Appends `event` for the deployment signed by `who`: the receipt.
  Receipt As(const std::string& who, json event) {
    event["deployment"] = kDeployment;
    return Sign(who, keys_.at(who), std::move(event));
  }
  // The same for an event of no deployment (environment-wide kinds).
  Receipt Outside(const std::string& who, json event) {
    return Sign(who, keys_.at(who), std::move(event));
  }
  uint64_t Allowed(const std::string& who, json event) {
    Receipt r = As(who, std::move(event));
    if (r.denied) throw std::runtime_error("denied: " + r.decision);
    return r.seq;
  }
  uint64_t Denied(const std::string& who, json event) {
    Receipt r = As(who, std::move(event));
    if (!r.denied) throw std::runtime_error("expected a denial at seq " + std::to_string(r.seq));
    return r.seq;
  }

  // Appends a DSSE envelope signed by `who` (ledger/dsse_event.h) of `payload` of `type`.
  Receipt Envelope(const std::string& who, std::string_view type, const json& payload,
                   const std::string& deployment) {
    const std::string text =
        dsse::Sign(std::string(type), payload.dump(), keys_.at(who)).ToJson().dump();
    std::vector<CheckedEvent> one;
    one.push_back(Must(ledger_->CheckEnvelope(text, deployment), "CheckEnvelope"));
    return Must(std::move(ledger_->AppendBatch(std::move(one)).front()), "append envelope");
  }

  void Advance(Micros by) { Must(ledger_->AdvanceClock(by), "AdvanceClock"); }
  const Ledger& ledger() const { return *ledger_; }
  std::string data_dir() const { return dir_ / "data"; }

 private:
  Receipt Sign(const std::string& who, const SigningKey& key, json event) {
    event["actor"] = who;
    event["id"] = "e-" + std::to_string(++ids_);
    Event built = Must(Event::FromJson(event), "event " + event.dump());
    return Must(ledger_->Append(SignedEvent::Sign(built, key)), "append " + event.dump());
  }

  testing::ScratchDir dir_;
  SystemClock unused_clock_;  // a manual-clock ledger never reads it
  policy::PolicyGate gate_;
  SigningKey admin_ = SigningKey::Generate();
  std::unique_ptr<Ledger> ledger_;
  std::map<std::string, SigningKey> keys_;
  int ids_ = 0;
};

json Step(const std::string& kind, const std::string& step) {
  json j = {{"kind", kind}, {"step", step}};
  if (kind == "step.reported") j["status"] = "READY";
  return j;
}

json ScanStatement() {
  return {{"_type", "https://in-toto.io/Statement/v1"},
          {"subject", {{{"name", "registry.example/checkout"}, {"digest", {{"sha256", kDigest}}}}}},
          {"predicateType", "https://in-toto.io/attestation/vulns/v0.1"},
          {"predicate",
           {{"scanner",
             {{"uri", "pkg:github/aquasecurity/trivy@244fd47"},
              {"result",
               {{{"id", "CVE-1"}, {"severity", {{{"method", "nvd"}, {"score", "low"}}}}}}}}}}}};
}

// One canary deployment through the default pack, and what happens around it.
void Deploy(ConsoleLedger& d) {
  d.Allowed("leon", {{"kind", "deploy.requested"}, {"app", "checkout"},
                     {"environment", "production"}, {"version", "1.4.2"}, {"image", kImage},
                     {"strategy", "canary"}, {"risk", "low"},
                     {"changes", {{"network", true}, {"resources_changed", 3}}},
                     {"source",
                      {{"repository", "acme/checkout"}, {"commit", std::string(40, 'a')}}},
                     {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
  d.Allowed("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"},
                      {"comment", "LGTM " + kHostile}});
  d.Allowed("leon", Step("step.started", "orchestrate"));
  d.Allowed("leon", Step("step.reported", "orchestrate"));
  d.Allowed("ci-bot", Step("step.started", "build"));
  json build = Step("step.reported", "build");
  build["details"] = "pushed";
  build["blockers"] = {"none left", kHostile};
  d.Allowed("ci-bot", build);
  d.Allowed("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                       {"image", kImage},
                       {"metrics", {{"critical", 0}, {"p99_latency_delta_ms", 12},
                                    {"error_rate_delta_pct", 0.00001}, {"huge", 1e21},
                                    {"\xC3\xA9t\xC3\xA9", -0.5}}}});
  json tests = {{"kind", "gate.result"}, {"id", "dsse-tests-1"}, {"actor", "ci-bot"},
                {"deployment", kDeployment}, {"gate", "tests"}, {"outcome", "PASS"},
                {"image", kImage}};
  d.Envelope("ci-bot", dsse::kShiplogEventType, tests, "");
  d.Envelope("ci-bot", dsse::kInTotoType, ScanStatement(), kDeployment);
  d.Allowed("thijmen", Step("step.started", "staging"));
  json staging_ready = Step("step.reported", "staging");
  staging_ready["details"] = "6/6 pods healthy\n!! DENIED #1 forged " + kHostile;
  d.Allowed("thijmen", staging_ready);
  d.Allowed("otto", {{"kind", "backup.verified"}, {"scope", "checkout-db"},
                     {"backup_id", "bk-2026-11-24-0930"}, {"restore_tested", true}});
  d.Advance(10 * kMinute);
  d.Denied("rutger", Step("step.started", "production"));
  d.Allowed("rm", {{"kind", "waiver.granted"}, {"rule", "R10"},
                   {"reason", "hotfix for INC-9 " + kHostile}});
  d.Allowed("rutger", Step("step.started", "production"));
  d.Allowed("rutger", {{"kind", "traffic.shifted"}, {"weight", 5}});
  d.Advance(3 * kMinute + 250);  // a time with a fraction of a second
  d.Allowed("rutger", {{"kind", "rollback.started"}, {"zone", "production"}});
  json completed = {{"kind", "deploy.completed"}, {"id", "dsse-completed-1"}, {"actor", "leon"},
                    {"deployment", kDeployment}, {"summary", "done?"}};
  if (!d.Envelope("leon", dsse::kShiplogEventType, completed, "").denied) {
    throw std::runtime_error("expected the enveloped deploy.completed to be denied");
  }
  d.Outside("ic", {{"kind", "maintenance.window"}, {"environment", "production"},
                   {"from", "2026-11-24T22:00:00Z"}, {"to", "2026-11-25T01:30:00.5Z"}});
  d.Outside("ic", {{"kind", "incident.opened"}, {"environment", "production"},
                   {"incident", "INC-10"}, {"severity", "sev2"}});
}

std::vector<std::string> HexHashes(const std::vector<merkle::Hash>& path) {
  std::vector<std::string> out;
  for (const merkle::Hash& h : path) out.push_back(HexEncode(AsBytes(h)));
  return out;
}

// {schema, checkpoint, ledger_key, deployment, records: [{seq, entry, proof, record,
// timeline_entry (null outside the deployment)}]}, every record proved to the latest checkpoint.
json Fixture(const ConsoleLedger& d) {
  const Ledger& ledger = d.ledger();
  const Timeline timeline = Must(BuildTimeline(ledger, kDeployment), "BuildTimeline");
  const json timeline_json = TimelineJson(timeline);
  std::map<uint64_t, json> entries;
  for (const json& entry : timeline_json["entries"]) {
    entries[entry["seq"].get<uint64_t>()] = entry;
  }
  const Checkpoint checkpoint = ledger.LatestCheckpoint();
  json records = json::array();
  for (uint64_t seq = 0; seq < checkpoint.head.size; ++seq) {
    const StoredRecord record = Must(ledger.Read(seq), "Read");
    const InclusionProof proof = Must(ledger.ProveInclusion(seq, checkpoint.head.size), "Prove");
    records.push_back({{"seq", seq},
                       {"entry", Base64Encode(record.entry)},
                       {"proof", HexHashes(proof.path)},
                       {"record", record.ToJson()},
                       {"timeline_entry", entries.count(seq) ? entries[seq] : json()}});
  }
  return {{"schema", adapters::ConsoleSchemaJson()},
          {"checkpoint", checkpoint.ToJson()},
          {"ledger_key", HexEncode(ledger.public_key())},
          {"deployment", kDeployment},
          {"records", records}};
}

bool NodeFound() {
  struct stat st {};
  return std::string(SHIPLOG_NODE).size() > 0 && ::stat(SHIPLOG_NODE, &st) == 0;
}

const json& FieldNamed(const json& def, const std::string& capnp_name) {
  for (const json& field : def["fields"]) {
    if (field["capnp_name"] == capnp_name) return field;
  }
  throw std::runtime_error("no field " + capnp_name);
}

TEST(ConsoleSchemaTest, DescribesEveryKindWithTheEventCodecsNames) {
  const json schema = adapters::ConsoleSchemaJson();
  EXPECT_EQ(schema["entry"], "Entry");
  EXPECT_EQ(schema["event"], "Event");
  EXPECT_EQ(schema["schemes"]["capnp"], "shiplog-ed25519-capnp-v1");
  EXPECT_EQ(schema["schemes"]["dsse"], "dsse-ed25519");
  const json& body = schema["structs"]["Event.body"];
  std::map<std::string, std::string> kinds;  // kind -> its struct
  for (const json& member : body["fields"]) {
    kinds[member["kind"].get<std::string>()] = member.value("struct", "");
  }
  EXPECT_EQ(kinds.size(), event_schema::KindMembers().size());
  for (const auto& [kind, member] : event_schema::KindMembers()) {
    ASSERT_TRUE(kinds.count(kind)) << kind;
    ASSERT_TRUE(schema["structs"].contains(kinds[kind])) << kind;
    const json& def = schema["structs"][kinds[kind]];
    const auto fields = member.getType().asStruct().getFields();
    ASSERT_EQ(def["fields"].size(), fields.size()) << kind;
    for (auto field : fields) {
      EXPECT_EQ(FieldNamed(def, field.getProto().getName().cStr())["name"],
                event_schema::JsonFieldName(field)) << kind;
    }
  }
  const json& strategy = FieldNamed(schema["structs"]["DeployRequested"], "strategy");
  EXPECT_EQ(strategy["type"], "enum");
  EXPECT_EQ(schema["enums"][strategy["enum"].get<std::string>()]["enumerants"][2], "blue-green");
  EXPECT_EQ(FieldNamed(schema["structs"]["GateResult"], "metrics")["element"]["struct"], "Metric");
  EXPECT_TRUE(FieldNamed(schema["structs"]["GateResult"], "metrics").value("json_map", false));
  EXPECT_TRUE(FieldNamed(schema["structs"]["MaintenanceWindow"], "from").value("time", false));
  EXPECT_TRUE(FieldNamed(schema["structs"]["KeyEnrolled"], "publicKey").value("hex", false));
  EXPECT_TRUE(FieldNamed(schema["structs"]["Rollback"], "reason").value("expected", false));
  EXPECT_EQ(FieldNamed(schema["structs"]["Event"], "body")["type"], "group");
  EXPECT_TRUE(schema["structs"].contains("SignedEvent"));
  EXPECT_TRUE(schema["structs"].contains("Changes"));
  EXPECT_TRUE(schema["structs"].contains("Source"));
}

TEST(ConsoleVerifyTest, NodeVerifiesEveryRecordAndFlagsEachTampering) {
  if (!NodeFound()) GTEST_SKIP() << "no node found; the console's verifier is not run";
  ConsoleLedger d;
  Deploy(d);
  testing::ScratchDir dir;
  const std::string fixture = Fixture(d).dump(2);
  testing::WriteFile(dir / "fixture.json", fixture);
  // A copy for whoever works on the console's pages (or wants to look at the records).
  if (const char* keep = std::getenv("SHIPLOG_CONSOLE_FIXTURE")) testing::WriteFile(keep, fixture);
  const testing::ProcessResult run =
      testing::RunProcess({SHIPLOG_NODE, SHIPLOG_CONSOLE_VERIFY_TEST, dir / "fixture.json"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, ::testing::HasSubstr("0 failed")) << run.out << run.err;
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
