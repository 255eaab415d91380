// Helpers for the replay tests: real ledgers (RocksDB on disk, enrolled Ed25519 keys, a manual
// clock, the default pack enforced by the policy gate) built by appending events, including every
// timeline of the default pack's policy tests.
#pragma once

#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "policy/policy_gate.h"
#include "policy/policy_tests.h"
#include "schemas/snapshot.capnp.h"
#include "tests/cli/process.h"

namespace shiplog::replay_test {

using json = nlohmann::json;

// 2026-11-24T18:00:00Z.
constexpr Micros kStart = 1795543200LL * kMicrosPerSecond;

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A snapshot file (replay/snapshot.h) rewritten: its content changed by `change`, both format
// versions set to `version`, and its hash made right again, so that the checks behind the hash
// are the ones that judge it.
inline std::string RewriteSnapshot(
    const std::string& file, uint32_t version,
    const std::function<void(schema::snapshot::Snapshot::Builder)>& change = nullptr) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(file.size() / sizeof(capnp::word));
  memcpy(words.begin(), file.data(), file.size());
  capnp::FlatArrayMessageReader file_reader(words);
  auto content = file_reader.getRoot<schema::snapshot::SnapshotFile>().getContent();
  kj::Array<capnp::word> inner = kj::heapArray<capnp::word>(content.size() / sizeof(capnp::word));
  memcpy(inner.begin(), content.begin(), content.size());
  capnp::FlatArrayMessageReader inner_reader(inner);
  capnp::MallocMessageBuilder changed;
  changed.setRoot(inner_reader.getRoot<schema::snapshot::Snapshot>());
  auto snapshot = changed.getRoot<schema::snapshot::Snapshot>();
  snapshot.setFormatVersion(version);
  if (change) change(snapshot);
  auto changed_words = capnp::messageToFlatArray(changed);
  const std::string changed_bytes(reinterpret_cast<const char*>(changed_words.asBytes().begin()),
                                  changed_words.asBytes().size());
  capnp::MallocMessageBuilder rewrapped;
  auto envelope = rewrapped.initRoot<schema::snapshot::SnapshotFile>();
  envelope.setFormatVersion(version);
  envelope.setContent(kj::arrayPtr(reinterpret_cast<const kj::byte*>(changed_bytes.data()),
                                   changed_bytes.size()));
  const std::string hash(AsBytes(Sha256(changed_bytes)));
  envelope.setSha256(kj::arrayPtr(reinterpret_cast<const kj::byte*>(hash.data()), hash.size()));
  auto out = capnp::messageToFlatArray(rewrapped);
  return std::string(reinterpret_cast<const char*>(out.asBytes().begin()), out.asBytes().size());
}

inline policy::Policy DefaultPolicy() {
  policy::ParseResult parsed = policy::ParsePolicy(policy::DefaultPolicyText(), "default.yaml");
  if (!parsed.policy) throw std::runtime_error("the default pack does not parse");
  return std::move(*parsed.policy);
}

// The default pack with the staging soak (R10) raised from 15 to 30 minutes.
inline policy::Policy StricterSoakPolicy() {
  std::string text = policy::DefaultPolicyText();
  const std::string from = "where: {step: staging, status: ready}\n        older_than: 15m";
  const size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("R10's soak is not where it was");
  text.replace(at, from.size(), "where: {step: staging, status: ready}\n        older_than: 30m");
  policy::ParseResult parsed = policy::ParsePolicy(text, "stricter.yaml");
  if (!parsed.policy) throw std::runtime_error("the stricter pack does not parse");
  return std::move(*parsed.policy);
}

// One ledger on disk with its keys, enforcing the policy given at creation.
class LedgerUnderTest {
 public:
  LedgerUnderTest(const policy::Policy& policy, Micros start,
                  const std::map<std::string, std::vector<std::string>>& actors) {
    const SigningKey& admin = admin_;
    InitOptions options;
    options.admin_public_key = admin.PublicKey();
    options.manual_clock = true;
    options.manual_clock_start = start;
    options.policy = policy.source;
    Must(Ledger::Init(data(), options, &unused_clock_));
    ledger_ = Must(Ledger::Open(data(), &unused_clock_, &gate_));
    for (const auto& [name, roles] : actors) {
      SigningKey key = SigningKey::Generate();
      Event enroll = Must(Event::FromJson({{"kind", "key.enrolled"},
                                           {"id", "enroll-" + name},
                                           {"actor", "admin"},
                                           {"name", name},
                                           {"public_key", HexEncode(key.PublicKey())},
                                           {"roles", roles}}));
      Must(ledger_->Append(SignedEvent::Sign(enroll, admin)));
      keys_.emplace(name, std::move(key));
    }
  }

  std::string data() const { return dir_ / "data"; }
  Ledger& ledger() { return *ledger_; }

  // Appends `event` signed by its actor's key.
  Result<Receipt> Append(const Event& event) {
    return ledger_->Append(SignedEvent::Sign(event, keys_.at(std::string(event.actor()))));
  }
  // Builds each event from JSON (ids made up when absent) and appends them as one batch: one
  // commit, one checkpoint at its end, as the server's group commit writes them.
  void AppendBatch(std::vector<json> events) {
    std::vector<CheckedEvent> batch;
    for (json& event : events) {
      if (!event.contains("id")) event["id"] = "e-" + std::to_string(++ids_);
      Event built = Must(Event::FromJson(event));
      batch.push_back(
          Must(CheckEvent(SignedEvent::Sign(built, keys_.at(std::string(built.actor()))))));
    }
    for (auto& receipt : ledger_->AppendBatch(std::move(batch))) Must(receipt.status());
  }
  // The admin revokes `actor`'s key.
  Status Revoke(const std::string& actor) {
    SHIPLOG_ASSIGN_OR_RETURN(
        Event revoked,
        Event::FromJson({{"kind", "key.revoked"},
                         {"id", "revoke-" + actor},
                         {"actor", "admin"},
                         {"public_key", HexEncode(keys_.at(actor).PublicKey())}}));
    return ledger_->Append(SignedEvent::Sign(revoked, admin_)).status();
  }
  // Builds the event from JSON (an id is made up when absent) and appends it.
  Result<Receipt> Append(json event) {
    if (!event.contains("id")) event["id"] = "e-" + std::to_string(++ids_);
    return Append(Must(Event::FromJson(event)));
  }

  template <typename T>
  static T Must(Result<T> r) {
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return std::move(r).value();
  }
  static void Must(const Status& s) {
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }

 private:
  SystemClock unused_clock_;  // a manual-clock ledger never reads it
  SigningKey admin_ = SigningKey::Generate();
  testing::ScratchDir dir_;
  policy::PolicyGate gate_;
  std::unique_ptr<Ledger> ledger_;
  std::map<std::string, SigningKey> keys_;
  uint64_t ids_ = 0;
};

// A TimelineBackend that keeps every ledger it builds, so replay can be checked on them after the
// policy tests ran.
class KeptLedgers final : public policy::TimelineBackend {
 public:
  Status Reset(const policy::Policy& policy, Micros start,
               const std::map<std::string, std::vector<std::string>>& actors) override {
    ledgers_.push_back(std::make_unique<LedgerUnderTest>(policy, start, actors));
    return Status::Ok();
  }
  Status SetTime(Micros now) override { return ledgers_.back()->ledger().SetClock(now); }
  Status Revoke(const std::string& actor) override { return ledgers_.back()->Revoke(actor); }
  Result<Outcome> Append(const Event& event) override {
    auto receipt = ledgers_.back()->Append(event);
    Outcome out;
    if (!receipt.ok()) {
      const StatusCode code = receipt.status().code();
      if (code != StatusCode::kForbidden && code != StatusCode::kInvalidArgument &&
          code != StatusCode::kUnknownKey) {
        return receipt.status();
      }
      out.got = "reject";
      return out;
    }
    out.got = receipt->denied ? "deny" : "allow";
    out.decision.allowed = !receipt->denied;
    if (!receipt->decision.empty()) {
      const json decision = json::parse(receipt->decision);
      for (const json& r : decision["reasons"]) {
        out.decision.reasons.push_back({r.value("rule", ""), r.value("name", ""), "", {}});
      }
    }
    return out;
  }

  std::vector<std::unique_ptr<LedgerUnderTest>>& ledgers() { return ledgers_; }

 private:
  std::vector<std::unique_ptr<LedgerUnderTest>> ledgers_;
};

inline const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

inline const std::map<std::string, std::vector<std::string>> kActors = {
    {"leon", {"coordinator"}}, {"marta", {"merge-approver"}}, {"ci-bot", {"ci"}},
    {"thijmen", {"k8s-operator"}}, {"rutger", {"production-ops"}}, {"otto", {"backup"}},
    {"ic", {"incident-commander"}}, {"rm", {"release-manager"}}};

// One of the events a deploy team appends, for deployment d-<n> (requesting app a<n> unless
// `app` names another); `pick` chooses.
inline json RandomEvent(int pick, int n, int step_pick, int minutes, std::string app = "") {
  if (app.empty()) app = "a" + std::to_string(n);
  const std::string d = "d-" + std::to_string(n);
  static const std::vector<std::pair<std::string, std::string>> kSteps = {
      {"leon", "orchestrate"}, {"ci-bot", "build"}, {"thijmen", "staging"}, {"rutger", "production"}};
  static const std::vector<std::string> kStatus = {"READY", "READY", "BLOCKED", "FAILED"};
  const auto& [owner, step] = kSteps[step_pick % kSteps.size()];
  switch (pick) {
    case 0:
      return {{"kind", "deploy.requested"}, {"actor", "leon"}, {"deployment", d},
              {"app", app}, {"environment", "production"}, {"version", "1.0"},
              {"image", kImage}, {"strategy", "canary"}, {"risk", "low"},
              {"planned_steps", {"orchestrate", "build", "staging", "production"}}};
    case 1:
      return {{"kind", "review"}, {"actor", "marta"}, {"deployment", d}, {"subject", "merge"},
              {"verdict", "approved"}};
    case 2: return {{"kind", "step.started"}, {"actor", owner}, {"deployment", d}, {"step", step}};
    case 3:
      return {{"kind", "step.reported"}, {"actor", owner}, {"deployment", d}, {"step", step},
              {"status", kStatus[minutes % kStatus.size()]}};
    case 4:
      return {{"kind", "gate.result"}, {"actor", "ci-bot"}, {"deployment", d},
              {"gate", step_pick % 2 ? "scan" : "analysis"}, {"outcome", "pass"}, {"image", kImage},
              {"metrics", {{"error_rate_delta_pct", 0.01}, {"p99_latency_delta_ms", 20}}}};
    case 5:
      return {{"kind", "backup.verified"}, {"actor", "otto"}, {"deployment", d}, {"scope", "db"},
              {"backup_id", "b-" + std::to_string(minutes)}};
    case 6:
      return {{"kind", "traffic.shifted"}, {"actor", "rutger"}, {"deployment", d},
              {"weight", std::vector<int>{5, 25, 50, 100}[step_pick % 4]}};
    case 7:
      return {{"kind", "waiver.granted"}, {"actor", "rm"}, {"deployment", d}, {"rule", "R10"},
              {"reason", "hotfix"}};
    case 8:
      return {{"kind", step_pick % 2 ? "incident.opened" : "incident.resolved"}, {"actor", "ic"},
              {"environment", "production"}, {"incident", "INC-" + std::to_string(n)},
              {"severity", "sev2"}};
    default: return {{"kind", "deploy.completed"}, {"actor", "leon"}, {"deployment", d}};
  }
}

// Every timeline of policy/default_tests.yaml appended to its own real ledger.
inline std::vector<std::unique_ptr<LedgerUnderTest>> DefaultTimelineLedgers() {
  InitCrypto();
  KeptLedgers backend;
  policy::PolicyTestRun run = policy::RunPolicyTests(
      DefaultPolicy(), ReadText(SHIPLOG_DEFAULT_POLICY_TESTS_FILE), "default_tests.yaml", &backend);
  for (const policy::PolicyError& e : run.errors) ADD_FAILURE() << e.ToString();
  if (run.report) {
    for (const auto& m : run.report->mismatches) ADD_FAILURE() << m.ToString();
  }
  return std::move(backend.ledgers());
}

}  // namespace shiplog::replay_test
