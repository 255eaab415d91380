// Timelines over a real ledger: RocksDB on disk, enrolled Ed25519 keys, a manual clock and the
// default pack judging every intent through a PolicyGate. One canary deployment runs the chain
// with a denied production start, a key rotated mid-run, a waiver and four canary phases; the
// tests check the timeline holds exactly what happened, with the durations the clock set, and
// that the HTML page is well formed (Python's html.parser) with every event and no live markup
// from event strings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "ledger/canonical.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "policy/policy.h"
#include "schemas/record.capnp.h"
#include "policy/policy_gate.h"
#include "replay/timeline.h"
#include "tests/cli/process.h"

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr Micros kStart = 1795543200LL * kMicrosPerSecond;  // 2026-11-24T18:00:00Z
constexpr Micros kMinute = kMicrosPerMinute;
const std::string kDeployment = "checkout-1";
const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
// What an attacker would put in any free-text field to run script in a reviewer's browser.
const std::string kInjection = "</script><img src=x onerror=alert(1)>\"'&<!--";

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.status().ToString());
  return std::move(r).value();
}
void Must(const Status& s, const std::string& what) {
  if (!s.ok()) throw std::runtime_error(what + ": " + s.ToString());
}

// A manual-clock ledger under the default pack, with the people of the policy tests.
class DeploymentLedger {
 public:
  DeploymentLedger() {
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
             {"rm", "release-manager"}}) {
      Enroll(name, {role});
    }
  }

  // Enrols a fresh key for `name` (revoking the one it had) and uses it from now on.
  void Enroll(const std::string& name, const std::vector<std::string>& roles) {
    auto old = keys_.find(name);
    if (old != keys_.end()) {
      Admin({{"kind", "key.revoked"}, {"public_key", HexEncode(old->second.PublicKey())},
             {"reason", "rotated"}});
      keys_.erase(old);
    }
    SigningKey key = SigningKey::Generate();
    Admin({{"kind", "key.enrolled"}, {"name", name}, {"public_key", HexEncode(key.PublicKey())},
           {"roles", roles}});
    keys_.emplace(name, std::move(key));
  }

  // Appends `event` signed by `who` for the deployment; returns the receipt.
  Receipt As(const std::string& who, json event) {
    event["actor"] = who;
    event["id"] = "e-" + std::to_string(++ids_);
    event["deployment"] = kDeployment;
    Event built = Must(Event::FromJson(event), "event " + event.dump());
    return Must(ledger_->Append(SignedEvent::Sign(built, keys_.at(who))), "append " + event.dump());
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

  void Advance(Micros by) { Must(ledger_->AdvanceClock(by), "AdvanceClock"); }
  void Close() { ledger_.reset(); }
  void Reopen() { ledger_ = Must(Ledger::Open(dir_ / "data", &unused_clock_, &gate_), "Open"); }
  std::string db_path() const { return dir_ / "data/db"; }
  const Ledger& ledger() const { return *ledger_; }
  std::string public_key(const std::string& name) const { return keys_.at(name).PublicKey(); }

 private:
  void Admin(json event) {
    event["actor"] = "admin";
    event["id"] = "admin-" + std::to_string(++ids_);
    Event built = Must(Event::FromJson(event), "admin event");
    Must(ledger_->Append(SignedEvent::Sign(built, admin_)).status(), "admin append");
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
json Shift(int weight) { return {{"kind", "traffic.shifted"}, {"weight", weight}}; }
json Analysis() {
  return {{"kind", "gate.result"}, {"gate", "analysis"}, {"outcome", "pass"},
          {"metrics", {{"error_rate_delta_pct", 0.02}, {"p99_latency_delta_ms", 12}}}};
}

// The seqs of the run's landmarks, and the whole run appended.
struct Landmarks {
  uint64_t request, scan, staging_ready, denied_production, production, shift5, shift25,
      denied50, waiver, shift50, shift100, production_ready, completed;
};

Landmarks Deploy(DeploymentLedger& d) {
  Landmarks run{};
  run.request = d.Allowed("leon", {{"kind", "deploy.requested"}, {"app", "checkout"},
                                   {"environment", "production"}, {"version", "1.4.2"},
                                   {"image", kImage}, {"strategy", "canary"}, {"risk", "low"},
                                   {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
  d.Allowed("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
  d.Allowed("leon", Step("step.started", "orchestrate"));
  d.Allowed("leon", Step("step.reported", "orchestrate"));
  d.Allowed("ci-bot", Step("step.started", "build"));
  d.Allowed("ci-bot", Step("step.reported", "build"));
  d.Enroll("ci-bot", {"ci", "k8s-operator"});  // rotated mid-run, with a second role
  run.scan = d.Allowed("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                                  {"image", kImage}});
  d.Allowed("thijmen", Step("step.started", "staging"));
  json staging_ready = Step("step.reported", "staging");
  staging_ready["details"] = "6/6 pods healthy\n!! DENIED #1 forged " + kInjection;
  run.staging_ready = d.Allowed("thijmen", staging_ready);
  d.Allowed("otto", {{"kind", "backup.verified"}, {"scope", "checkout-db"},
                     {"backup_id", "bk-2026-11-24-0930"}, {"restore_tested", true}});
  d.Advance(10 * kMinute);
  run.denied_production = d.Denied("rutger", Step("step.started", "production"));
  d.Advance(7 * kMinute);
  run.production = d.Allowed("rutger", Step("step.started", "production"));
  run.shift5 = d.Allowed("rutger", Shift(5));
  d.Advance(20 * kMinute);
  d.Allowed("rutger", Analysis());
  run.shift25 = d.Allowed("rutger", Shift(25));
  d.Advance(10 * kMinute);
  d.Allowed("rutger", Analysis());
  run.denied50 = d.Denied("rutger", Shift(50));
  run.waiver = d.Allowed("rm", {{"kind", "waiver.granted"}, {"rule", "R15"},
                                {"reason", "hotfix for INC-9 " + kInjection}});
  run.shift50 = d.Allowed("rutger", Shift(50));
  d.Advance(45 * kMinute);
  run.shift100 = d.Allowed("rutger", Shift(100));
  run.production_ready = d.Allowed("rutger", Step("step.reported", "production"));
  d.Advance(15 * kMinute);
  run.completed = d.Allowed("leon", {{"kind", "deploy.completed"}, {"summary", "1.4.2 at 100%"}});
  return run;
}

class TimelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ledger_ = new DeploymentLedger;
    run_ = Deploy(*ledger_);
    timeline_ = new Timeline(Must(BuildTimeline(ledger_->ledger(), kDeployment), "BuildTimeline"));
  }
  static void TearDownTestSuite() {
    delete timeline_;
    delete ledger_;
  }

  static const TimelineEntry& At(uint64_t seq) {
    for (const TimelineEntry& e : timeline_->entries) {
      if (e.seq == seq) return e;
    }
    throw std::runtime_error("no entry for seq " + std::to_string(seq));
  }

  static std::vector<uint64_t> LedgerSeqs() {
    std::vector<uint64_t> seqs;
    QueryFilter filter;
    filter.deployment = kDeployment;
    Must(ledger_->ledger().Query(filter, [&](const StoredRecord& r) {
      seqs.push_back(r.seq);
      return true;
    }), "Query");
    return seqs;
  }

  static DeploymentLedger* ledger_;
  static Landmarks run_;
  static Timeline* timeline_;
};
DeploymentLedger* TimelineTest::ledger_ = nullptr;
Landmarks TimelineTest::run_;
Timeline* TimelineTest::timeline_ = nullptr;

TEST_F(TimelineTest, HoldsEveryRecordOfTheDeploymentInLedgerOrder) {
  std::vector<uint64_t> seqs;
  for (const TimelineEntry& e : timeline_->entries) seqs.push_back(e.seq);
  EXPECT_THAT(seqs, ElementsAreArray(LedgerSeqs()));
  EXPECT_EQ(seqs.size(), 22u);
  EXPECT_EQ(seqs.front(), run_.request);
  EXPECT_EQ(seqs.back(), run_.completed);
  for (size_t i = 1; i < timeline_->entries.size(); ++i) {
    EXPECT_GE(timeline_->entries[i].time, timeline_->entries[i - 1].time);
  }
  EXPECT_EQ(timeline_->app, "checkout");
  EXPECT_EQ(timeline_->image, kImage);
  EXPECT_EQ(timeline_->outcome, "completed");
  EXPECT_TRUE(timeline_->manual_clock);
}

TEST_F(TimelineTest, NamesEachSignerWithTheRolesTheyHeldThen) {
  const TimelineEntry& build_ready = At(run_.scan - 3);  // before the rotation's two records
  EXPECT_EQ(build_ready.kind, "step.reported");
  EXPECT_EQ(build_ready.who.name, "ci-bot");
  EXPECT_THAT(build_ready.who.roles, ElementsAre("ci"));
  const TimelineEntry& scan = At(run_.scan);
  EXPECT_EQ(scan.who.name, "ci-bot");
  EXPECT_THAT(scan.who.roles, ElementsAre("ci", "k8s-operator"));
  EXPECT_NE(scan.who.public_key, build_ready.who.public_key);
  EXPECT_EQ(scan.who.public_key, HexEncode(ledger_->public_key("ci-bot")));
  EXPECT_EQ(At(run_.production).who.name, "rutger");
  EXPECT_THAT(At(run_.production).who.roles, ElementsAre("production-ops"));
  for (const TimelineEntry& e : timeline_->entries) {
    EXPECT_TRUE(e.signature_ok) << e.seq << ": " << e.signature;
    EXPECT_EQ(e.signature, "valid");
  }
  EXPECT_EQ(timeline_->bad_signatures, 0u);
}

TEST_F(TimelineTest, ADeniedIntentShowsWhoTriedAndEveryReason) {
  const TimelineEntry& denied = At(run_.denied_production);
  EXPECT_TRUE(denied.denied);
  EXPECT_EQ(denied.kind, "step.started");
  EXPECT_EQ(denied.step, "production");
  EXPECT_EQ(denied.who.name, "rutger") << "the agent who tried, not the ledger";
  EXPECT_EQ(denied.who.public_key, HexEncode(ledger_->public_key("rutger")));
  ASSERT_TRUE(denied.decision);
  EXPECT_FALSE(denied.decision->allowed);
  ASSERT_EQ(denied.decision->reasons.size(), 1u);
  EXPECT_EQ(denied.decision->reasons[0].rule, "R10");
  EXPECT_EQ(denied.decision->reasons[0].name, "staging-soak");
  EXPECT_THAT(denied.decision->reasons[0].message, HasSubstr("10m"));
  EXPECT_TRUE(denied.signature_ok) << denied.signature;

  const TimelineEntry& denied50 = At(run_.denied50);
  ASSERT_TRUE(denied50.decision);
  ASSERT_FALSE(denied50.decision->reasons.empty());
  EXPECT_EQ(denied50.decision->reasons[0].rule, "R15");
  EXPECT_EQ(timeline_->denials, 2u);
}

TEST_F(TimelineTest, AnAllowedIntentListsTheRulesThatApplied) {
  const TimelineEntry& production = At(run_.production);
  EXPECT_FALSE(production.denied);
  ASSERT_TRUE(production.decision);
  EXPECT_TRUE(production.decision->allowed);
  std::vector<std::string> rules;
  for (const policy::Evidence& e : production.decision->evidence) rules.push_back(e.rule);
  EXPECT_THAT(rules, ::testing::IsSupersetOf({"R1", "R10", "R12", "R13"}));
  EXPECT_FALSE(At(run_.scan).decision) << "a fact is not judged";
}

TEST_F(TimelineTest, AWaiverShowsItsRuleReasonAndHolderAndIsCited) {
  const TimelineEntry& waiver = At(run_.waiver);
  ASSERT_TRUE(waiver.waiver);
  EXPECT_EQ(waiver.waiver->rule, "R15");
  EXPECT_EQ(waiver.waiver->reason, "hotfix for INC-9 " + kInjection);
  EXPECT_EQ(waiver.waiver->holder, "rm");
  EXPECT_THAT(waiver.who.roles, ElementsAre("release-manager"));
  EXPECT_EQ(timeline_->waivers, 1u);

  const TimelineEntry& shift50 = At(run_.shift50);
  ASSERT_TRUE(shift50.decision);
  bool cited = false;
  for (const policy::Evidence& e : shift50.decision->evidence) {
    if (e.rule == "R15" && e.waiver && e.waiver->seq == run_.waiver) {
      cited = true;
      EXPECT_EQ(e.waiver->actor, "rm");
    }
  }
  EXPECT_TRUE(cited);
}

TEST_F(TimelineTest, MeasuresTheSoakCanaryPhasesAndTotalAsTheClockSetThem) {
  const TimelineEntry& production = At(run_.production);
  ASSERT_TRUE(production.soak);
  EXPECT_EQ(*production.soak, 17 * kMinute);
  EXPECT_EQ(production.soaked_step, "staging");
  EXPECT_EQ(production.since_previous, 7 * kMinute);
  EXPECT_EQ(At(run_.denied_production).since_previous, 10 * kMinute);
  EXPECT_FALSE(At(run_.denied_production).soak) << "a denied start measures nothing";

  const StepSpan* staging = nullptr;
  for (const StepSpan& s : timeline_->steps) {
    if (s.step == "staging") staging = &s;
  }
  ASSERT_NE(staging, nullptr);
  EXPECT_EQ(staging->ready_seq, run_.staging_ready);
  EXPECT_EQ(staging->soak, 17 * kMinute);
  EXPECT_EQ(staging->next_step, "production");

  ASSERT_EQ(timeline_->canary.size(), 4u);
  const std::vector<std::pair<uint32_t, Micros>> phases = {
      {5, 20 * kMinute}, {25, 10 * kMinute}, {50, 45 * kMinute}, {100, 15 * kMinute}};
  for (size_t i = 0; i < phases.size(); ++i) {
    EXPECT_EQ(timeline_->canary[i].weight, phases[i].first);
    EXPECT_EQ(timeline_->canary[i].held, phases[i].second) << phases[i].first << "%";
  }
  EXPECT_EQ(timeline_->canary[3].until_seq, run_.completed);
  EXPECT_EQ(At(run_.shift25).phase_held, 10 * kMinute);
  EXPECT_FALSE(At(run_.denied50).phase_held);
  EXPECT_EQ(timeline_->duration(), (10 + 7 + 20 + 10 + 45 + 15) * kMinute);
}

TEST_F(TimelineTest, JsonCarriesTheSameFacts) {
  json j = TimelineJson(*timeline_);
  EXPECT_EQ(j["format"], "shiplog-timeline-v1");
  EXPECT_EQ(j["entries"].size(), timeline_->entries.size());
  EXPECT_EQ(j["duration_seconds"], 107 * 60);
  json denied;
  for (const json& e : j["entries"]) {
    if (e["seq"] == run_.denied_production) denied = e;
    if (e["seq"] == run_.production) {
      EXPECT_EQ(e["soak_seconds"], 17 * 60);
      EXPECT_EQ(e["soaked_step"], "staging");
      EXPECT_EQ(e["decision"]["allowed"], true);
    }
  }
  EXPECT_EQ(denied["denied"], true);
  EXPECT_EQ(denied["who"]["name"], "rutger");
  EXPECT_EQ(denied["decision"]["reasons"][0]["rule"], "R10");
  EXPECT_EQ(denied["signature"]["ok"], true);
  EXPECT_EQ(j["canary"][2]["held_seconds"], 45 * 60);
}

TEST_F(TimelineTest, TextReadsAsAPostMortem) {
  const std::string text = TimelineText(*timeline_);
  EXPECT_THAT(text, HasSubstr("!! DENIED #" + std::to_string(run_.denied_production) + " "));
  EXPECT_THAT(text, HasSubstr("R10 staging-soak: "));
  EXPECT_THAT(text, HasSubstr("** WAIVER #" + std::to_string(run_.waiver) + " "));
  EXPECT_THAT(text, HasSubstr("rule R15 lifted for this deployment by rm, reason: hotfix for INC-9"));
  EXPECT_THAT(text, HasSubstr("rutger [production-ops]  step.started: started production"));
  EXPECT_THAT(text, HasSubstr("(staging soaked 17m)"));
  EXPECT_THAT(text, HasSubstr("R15 canary-phases WAIVED by rm"));
  EXPECT_THAT(text, HasSubstr("backup bk-2026-11-24-0930 of checkout-db verified, restore tested"));
  EXPECT_THAT(text, HasSubstr("gate scan: pass"));
  // The newline in the report's details is shown as \n (ledger/terminal_text.h), not a break.
  EXPECT_THAT(text, HasSubstr("reported staging READY: 6/6 pods healthy\\n!! DENIED #1 forged"));
  EXPECT_THAT(text, Not(::testing::ContainsRegex("(^|\n)!! DENIED #1 "))) << "an event forged a line";
  EXPECT_THAT(text, HasSubstr("50% from #" + std::to_string(run_.shift50) + " held 45m"));
  EXPECT_THAT(text, HasSubstr("total: 1h47m"));
}

TEST(TimelineErrors, UnknownDeploymentIsNotFound) {
  DeploymentLedger d;
  auto timeline = BuildTimeline(d.ledger(), "no-such-deployment");
  EXPECT_EQ(timeline.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(timeline.status().message(), HasSubstr("no-such-deployment"));
  EXPECT_EQ(BuildTimeline(d.ledger(), "").status().code(), StatusCode::kInvalidArgument);
}

// Rewrites record `seq` on disk with one bit of its agent's signature flipped and a leaf hash
// that matches, as someone with write access to the database would: the record still decodes,
// only its signature gives it away (and the Merkle tree, which `shiplog verify` checks).
void ForgeSignature(const std::string& db_path, uint64_t seq) {
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_path, &names).ok()) {
    throw std::runtime_error("cannot list the column families of " + db_path);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(rocksdb::DBOptions(), db_path, families, &handles, &db).ok()) {
    throw std::runtime_error("cannot open " + db_path);
  }
  rocksdb::ColumnFamilyHandle* records =
      handles[std::find(names.begin(), names.end(), "records") - names.begin()];
  std::string value;
  if (!db->Get(rocksdb::ReadOptions(), records, EncodeSeq(seq), &value).ok()) {
    throw std::runtime_error("no record " + std::to_string(seq));
  }
  CanonicalMessage stored = Must(CanonicalMessage::Parse(value, 1 << 20), "parse record");
  auto stored_entry = stored.Root<schema::Record>().getEntry();
  StoredRecord record = Must(
      StoredRecord::FromEntry(
          std::string(reinterpret_cast<const char*>(stored_entry.begin()), stored_entry.size())),
      "FromEntry");
  std::string entry = record.entry;
  const size_t at = entry.find(record.signed_event.signature);
  if (at == std::string::npos) throw std::runtime_error("signature not found in the entry");
  entry[at] = static_cast<char>(entry[at] ^ 1);
  capnp::MallocMessageBuilder message;
  auto forged = message.initRoot<schema::Record>();
  forged.setEntry(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(entry.data()), entry.size()));
  const merkle::Hash leaf = merkle::LeafHash(entry);
  forged.setLeafHash(capnp::Data::Reader(leaf.data(), leaf.size()));
  const std::string bytes = CanonicalBytes(forged.asReader());
  const bool put = db->Put(rocksdb::WriteOptions(), records, EncodeSeq(seq), bytes).ok();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  if (!put) throw std::runtime_error("cannot write record " + std::to_string(seq));
}

TEST(TimelineSignatures, AForgedSignatureIsFlaggedOnItsEntry) {
  DeploymentLedger d;
  Landmarks run = Deploy(d);
  d.Close();
  ForgeSignature(d.db_path(), run.scan);
  d.Reopen();
  Timeline timeline = Must(BuildTimeline(d.ledger(), kDeployment), "BuildTimeline");
  EXPECT_EQ(timeline.bad_signatures, 1u);
  for (const TimelineEntry& e : timeline.entries) {
    EXPECT_EQ(e.signature_ok, e.seq != run.scan) << e.seq << ": " << e.signature;
  }
  const std::string text = TimelineText(timeline);
  EXPECT_THAT(text, HasSubstr("SIGNATURE INVALID: the record's signature"));
  EXPECT_THAT(TimelineHtml(timeline), HasSubstr("badsig\" data-seq=\"" + std::to_string(run.scan)));
}

// ---- escaping ----

TEST(TimelineEscaping, HtmlTextAndAttributesAreInert) {
  EXPECT_EQ(EscapeHtml(kInjection),
            "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;&lt;!--");
}

TEST(TimelineEscaping, ScriptJsonHasNoMarkupAndRoundTrips) {
  json value = {{"reason", kInjection + "\u2028\u2029"}};
  const std::string text = JsonForScript(value);
  EXPECT_THAT(text, Not(HasSubstr("<")));
  EXPECT_THAT(text, Not(HasSubstr(">")));
  EXPECT_THAT(text, Not(HasSubstr("&")));
  EXPECT_THAT(text, Not(HasSubstr("\xe2\x80\xa8")));
  EXPECT_EQ(json::parse(text), value);
}

// Parses the page with Python's html.parser, checking that every tag opened is closed in order
// (void elements excepted), that nothing loads from outside or carries an event-handler
// attribute, and reports the tags, the data-seq values and the embedded JSON.
constexpr char kHtmlCheck[] = R"py(
import json, sys
from html.parser import HTMLParser
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
class Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.seqs = [], [], {}, set()
        self.doctype, self.script, self.scripts = False, None, []
    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"
    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name.startswith("on"):
                self.errors.append("event handler %s on <%s>" % (name, tag))
            if name in ("src", "href", "action"):
                self.errors.append("external reference %s=%r on <%s>" % (name, value, tag))
            if name == "data-seq":
                self.seqs.add(int(value))
        if tag in VOID:
            return
        self.stack.append((tag, self.getpos()))
        if tag == "script":
            self.script = [dict(attrs), ""]
    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            self.errors.append("self-closed <%s/> at %s" % (tag, self.getpos()))
        self.handle_starttag(tag, attrs)
    def handle_endtag(self, tag):
        if tag in VOID or not self.stack:
            self.errors.append("unexpected </%s> at %s" % (tag, self.getpos()))
            return
        open_tag, where = self.stack.pop()
        if open_tag != tag:
            self.errors.append("</%s> at %s closes <%s> from %s" % (tag, self.getpos(), open_tag, where))
        if tag == "script" and self.script:
            self.scripts.append(self.script)
            self.script = None
    def handle_data(self, data):
        if self.script is not None:
            self.script[1] += data
check = Check()
check.feed(open(sys.argv[1], encoding="utf-8").read())
check.close()
for tag, where in check.stack:
    check.errors.append("<%s> from %s never closed" % (tag, where))
data = None
for attrs, text in check.scripts:
    if attrs.get("type") == "application/json":
        data = json.loads(text)
print(json.dumps({"errors": check.errors, "doctype": check.doctype, "tags": check.tags,
                  "seqs": sorted(check.seqs), "scripts": len(check.scripts), "data": data}))
)py";

bool Python3Available() {
  struct stat st;
  return std::string(SHIPLOG_PYTHON3).size() > 0 && ::stat(SHIPLOG_PYTHON3, &st) == 0;
}

json ParseHtmlWithPython(const std::string& html) {
  testing::ScratchDir dir;
  testing::WriteFile(dir / "check.py", kHtmlCheck);
  testing::WriteFile(dir / "timeline.html", html);
  testing::ProcessResult r =
      testing::RunProcess({SHIPLOG_PYTHON3, dir / "check.py", dir / "timeline.html"});
  if (r.exit_code != 0) throw std::runtime_error("python: " + r.err);
  return json::parse(r.out);
}

TEST_F(TimelineTest, HtmlIsWellFormedSelfContainedAndHoldsEveryEvent) {
  if (!Python3Available()) GTEST_SKIP() << "python3 not found (tools/setup.sh installs it)";
  const std::string html = TimelineHtml(*timeline_);
  json parsed = ParseHtmlWithPython(html);
  EXPECT_TRUE(parsed["errors"].empty()) << parsed["errors"].dump(1);
  EXPECT_EQ(parsed["doctype"], true);
  EXPECT_FALSE(parsed["tags"].contains("img")) << "an event string became markup";
  EXPECT_FALSE(parsed["tags"].contains("link"));
  EXPECT_EQ(parsed["scripts"], 2) << "the data and the code; no third from an event";
  EXPECT_THAT(parsed["seqs"].get<std::vector<uint64_t>>(), ElementsAreArray(LedgerSeqs()));

  // The embedded data is the timeline's JSON, with the hostile strings intact as data.
  ASSERT_TRUE(parsed["data"].is_object());
  EXPECT_EQ(parsed["data"], TimelineJson(*timeline_));
  EXPECT_EQ(parsed["data"]["entries"].size(), timeline_->entries.size());
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, HasSubstr("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
  // Each mark and each row shows its fields on demand: a table row and a lane mark per event.
  for (const TimelineEntry& e : timeline_->entries) {
    const std::string seq = std::to_string(e.seq);
    EXPECT_THAT(html, HasSubstr("<tr id=\"seq-" + seq + "\"")) << seq;
    EXPECT_THAT(html, HasSubstr("class=\"mark ")) << seq;
  }
  EXPECT_THAT(html, HasSubstr("class=\"mark k-step denied\" data-seq=\"" +
                              std::to_string(run_.denied_production) + "\""));
  EXPECT_THAT(html, HasSubstr("class=\"mark k-step waiver\" data-seq=\"" +
                              std::to_string(run_.waiver) + "\""));
  EXPECT_THAT(html, HasSubstr("class=\"mark k-gate\" data-seq=\"" + std::to_string(run_.scan) + "\""));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
