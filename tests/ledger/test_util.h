// Shared helpers for the ledger tests: temporary directories, Status assertions, realistic event
// JSON for every kind, and a ledger harness (admin key, fake clock, enrolment).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "ledger/key_registry.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "tests/postgres/test_store.h"

namespace shiplog {
// Lets gtest print a Status in failure messages ("invalid_argument: ...").
inline void PrintTo(const Status& s, std::ostream* os) { *os << s.ToString(); }
inline void PrintTo(StatusCode c, std::ostream* os) { *os << StatusCodeName(c); }
}  // namespace shiplog

namespace shiplog_test {

using nlohmann::json;
using shiplog::Micros;
using shiplog::Result;
using shiplog::Status;
using shiplog::StatusCode;

// 2026-11-24T18:00:00Z.
constexpr Micros kT0 = 1795543200LL * shiplog::kMicrosPerSecond;

// A pinned image reference (R9): repo@sha256:<64 hex>.
inline const std::string kImage =
    "registry.example.com/checkout@sha256:"
    "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
inline const std::string kDeployment = "checkout-2026-11-24.1";

// InitCrypto() before any test runs.
class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { shiplog::InitCrypto(); }
};
inline ::testing::Environment* const kCryptoEnvironment =
    ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

// ---- Status helpers ----

inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}

template <typename T>
::testing::AssertionResult IsOkFormat(const char* expr, const T& value) {
  const Status& s = GetStatus(value);
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " is not OK: " << s.ToString();
}

template <typename T>
::testing::AssertionResult HasCodeFormat(const char* expr, const char* /*code_expr*/,
                                         const T& value, StatusCode code) {
  const Status& s = GetStatus(value);
  if (s.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " returned " << s.ToString()
                                       << ", expected code " << shiplog::StatusCodeName(code);
}

#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::shiplog_test::IsOkFormat, expr)
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::shiplog_test::IsOkFormat, expr)
#define EXPECT_CODE(expr, code) EXPECT_PRED_FORMAT2(::shiplog_test::HasCodeFormat, expr, code)
#define ASSERT_CODE(expr, code) ASSERT_PRED_FORMAT2(::shiplog_test::HasCodeFormat, expr, code)

// The message names `word` as a whole word (not as part of a longer identifier).
inline ::testing::Matcher<const std::string&> NamesWord(const std::string& word) {
  return ::testing::ContainsRegex("(^|[^A-Za-z0-9_])" + word + "([^A-Za-z0-9_]|$)");
}

// The value of a Result, or an exception (which gtest reports as a failure) naming `what`.
template <typename T>
T Unwrap(Result<T> r, const std::string& what = "Unwrap") {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.status().ToString());
  return std::move(r).value();
}
inline void Check(const Status& s, const std::string& what = "Check") {
  if (!s.ok()) throw std::runtime_error(what + ": " + s.ToString());
}

// ---- files ----

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/shiplog-test-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  ::chmod(path.c_str(), mode);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline mode_t FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path);
  return st.st_mode & 07777;
}

// ---- event JSON ----

// A fresh event id, unique within the test binary.
inline std::string NextId(const std::string& prefix = "evt") {
  static std::atomic<uint64_t> counter{0};
  return prefix + "-" + std::to_string(++counter);
}

// An event in its JSON form: the common fields plus the kind's own fields at the top level.
// `deployment` is left out when empty. The result is what an agent's JSON text parses to (so a
// non-negative integer is nlohmann's number_unsigned, as from ParseJsonText); see
// event_test.cc's IntegerFieldsAcceptSignedJsonNumbers for JSON built in C++.
inline json EventJson(const std::string& kind, const std::string& actor,
                      const std::string& deployment, const json& body = json::object(),
                      const std::string& id = "") {
  json j = body.is_null() ? json::object() : body;
  j["kind"] = kind;
  j["id"] = id.empty() ? NextId() : id;
  j["actor"] = actor;
  if (!deployment.empty()) j["deployment"] = deployment;
  return json::parse(j.dump());
}

inline json DeployRequestedJson(const std::string& actor, const std::string& deployment = kDeployment) {
  return EventJson("deploy.requested", actor, deployment,
                   {{"app", "checkout"},
                    {"environment", "production"},
                    {"version", "2.14.0"},
                    {"image", kImage},
                    {"strategy", "Blue-Green"},
                    {"changes",
                     {{"infra", true},
                      {"db_migration", "additive"},
                      {"reversible", true},
                      {"recovery_doc", "https://wiki.example.com/runbooks/checkout-2.14"},
                      {"network", false},
                      {"cdn", true},
                      {"resources_changed", 7}}},
                    {"risk", "high"},
                    {"planned_steps",
                     {"orchestrate", "db-migration", "infrastructure", "build", "staging",
                      "production", "network", "cdn", "backup-verify"}}});
}

inline json StepStartedJson(const std::string& actor, const std::string& step,
                            const std::string& deployment = kDeployment) {
  return EventJson("step.started", actor, deployment, {{"step", step}, {"image", kImage}});
}

inline json StepReportedJson(const std::string& actor, const std::string& step,
                             const std::string& status = "READY",
                             const std::string& deployment = kDeployment) {
  return EventJson("step.reported", actor, deployment,
                   {{"step", step},
                    {"status", status},
                    {"details", "rollout complete, 6/6 pods healthy"},
                    {"blockers", json::array()},
                    {"image", kImage}});
}

inline json GateResultJson(const std::string& actor, const std::string& gate = "analysis",
                           const std::string& deployment = kDeployment) {
  return EventJson("gate.result", actor, deployment,
                   {{"gate", gate},
                    {"outcome", "pass"},
                    {"metrics", {{"error_rate_delta", 0.04}, {"p99_latency_delta_ms", 35}}},
                    {"image", kImage},
                    {"step", "production"}});
}

inline json TrafficShiftedJson(const std::string& actor, int weight,
                               const std::string& deployment = kDeployment) {
  return EventJson("traffic.shifted", actor, deployment, {{"weight", weight}});
}

inline json KeyEnrolledJson(const std::string& admin, const std::string& name,
                            const std::string& public_key, const std::vector<std::string>& roles) {
  return EventJson("key.enrolled", admin, "",
                   {{"name", name}, {"public_key", shiplog::HexEncode(public_key)}, {"roles", roles}});
}

inline json KeyRevokedJson(const std::string& admin, const std::string& public_key,
                           const std::string& reason = "laptop lost") {
  return EventJson("key.revoked", admin, "",
                   {{"public_key", shiplog::HexEncode(public_key)}, {"reason", reason}});
}

// One realistic example of every event kind, in schema order.
inline std::vector<json> AllKindExamples() {
  const std::string key_a = std::string(32, '\x11');
  const std::string key_b = std::string(32, '\x22');
  const std::string policy = "rule R10 staging-soak { min: 15m }\n";
  const auto policy_hash = shiplog::Sha256(policy);
  return {
      DeployRequestedJson("leon"),
      EventJson("review", "marta", kDeployment,
                {{"subject", "merge"},
                 {"verdict", "approved"},
                 {"image", kImage},
                 {"comment", "LGTM, migration is additive"}}),
      StepStartedJson("rutger", "staging"),
      StepReportedJson("rutger", "staging", "READY"),
      GateResultJson("ci-bot"),
      EventJson("backup.verified", "otto", kDeployment,
                {{"scope", "checkout-db"}, {"backup_id", "bk-2026-11-24-0930"}, {"restore_tested", true}}),
      TrafficShiftedJson("leon", 25),
      EventJson("rollback.started", "leon", kDeployment,
                {{"zone", "production"}, {"reason", "error rate above 1% after canary 25%"}}),
      EventJson("rollback.completed", "leon", kDeployment,
                {{"zone", "production"}, {"reason", "previous image restored"}}),
      EventJson("incident.opened", "pagerduty", "",
                {{"environment", "production"}, {"incident", "INC-4211"}, {"severity", "sev2"}}),
      EventJson("incident.resolved", "pagerduty", "",
                {{"environment", "production"}, {"incident", "INC-4211"}, {"severity", "sev2"}}),
      EventJson("maintenance.window", "victoria", "",
                {{"environment", "production"},
                 {"from", "2026-11-24T22:00:00Z"},
                 {"to", "2026-11-25T02:00:00+01:00"}}),
      EventJson("waiver.granted", "iwona", kDeployment,
                {{"rule", "R10"}, {"reason", "hotfix for CVE-2026-1234, soak waived by CAB"}}),
      EventJson("deploy.completed", "leon", kDeployment, {{"summary", "2.14.0 live at 100%"}}),
      KeyEnrolledJson("admin", "rutger", key_a, {"k8s-operator", "staging"}),
      KeyRevokedJson("admin", key_b),
      EventJson("policy.activated", "admin", "",
                {{"name", "default"},
                 {"content", policy},
                 {"sha256", shiplog::HexEncode(shiplog::AsBytes(policy_hash))}}),
      EventJson("ledger.genesis", "shiplog", "",
                {{"ledger_key", shiplog::HexEncode(key_a)},
                 {"admin_name", "admin"},
                 {"admin_key", shiplog::HexEncode(key_b)},
                 {"manual_clock", false},
                 {"format_version", 1},
                 {"origin", "shiplog/test"}}),
      EventJson("policy.denied", "shiplog", kDeployment,
                {{"payload", shiplog::Base64Encode("canonical bytes of the denied event")},
                 {"public_key", shiplog::HexEncode(key_a)},
                 {"signature", shiplog::Base64Encode(std::string(64, '\x01'))},
                 {"decision", R"({"allowed":false,"reasons":[{"rule":"R10"}]})"}}),
      EventJson("enforcement.decided", "shiplog-server", kDeployment,
                {{"point", "kubernetes-admission"},
                 {"request", "705ab4f5-6393-11e8-b7cc-42010a800002"},
                 {"subject", "Deployment production/checkout"},
                 {"environment", "production"},
                 {"step", "production"},
                 {"images", {kImage}},
                 {"allowed", true},
                 {"decision", R"({"allowed":false,"reasons":[{"rule":"admission"}]})"}}),
      EventJson("attestation.stored", "ci-bot", kDeployment,
                {{"predicate_type", "https://spdx.dev/Document"},
                 {"subjects", {"registry.example.com/checkout@sha256:" + std::string(64, 'a')}},
                 {"statement_sha256", std::string(64, 'b')}}),
  };
}

inline shiplog::Event MakeEvent(const json& j) { return Unwrap(shiplog::Event::FromJson(j), "Event::FromJson(" + j.dump() + ")"); }

inline shiplog::SignedEvent SignJson(const json& j, const shiplog::SigningKey& key) {
  return shiplog::SignedEvent::Sign(MakeEvent(j), key);
}

inline std::string FlipBit(std::string s, size_t bit) {
  s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  return s;
}

// ---- a store that fails on cue ----

// Passes every call to the store it wraps: tests derive from it to make one kind of call fail
// as a damaged or full disk would.
class ForwardingStore : public shiplog::Store {
 public:
  explicit ForwardingStore(std::unique_ptr<shiplog::Store> inner) : inner_(std::move(inner)) {}
  Status Commit(const shiplog::StoreBatch& batch) override { return inner_->Commit(batch); }
  Result<uint64_t> RecordCount() override { return inner_->RecordCount(); }
  Result<std::optional<std::string>> GetRecord(uint64_t seq) override {
    return inner_->GetRecord(seq);
  }
  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    return inner_->ScanRecords(from, visit);
  }
  Result<std::optional<std::string>> GetIndex(std::string_view key) override {
    return inner_->GetIndex(key);
  }
  Status ScanIndex(std::string_view prefix, std::string_view start,
                   const IndexVisitor& visit) override {
    return inner_->ScanIndex(prefix, start, visit);
  }
  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    return inner_->GetMeta(key);
  }
  Status PutMeta(std::string_view key, std::string_view value) override {
    return inner_->PutMeta(key, value);
  }

 protected:
  shiplog::Store& inner() { return *inner_; }

 private:
  std::unique_ptr<shiplog::Store> inner_;
};

// A ledger on a new RocksDB store at `path`, opened through a `Wrapper` (a ForwardingStore)
// made with the store and `args`, with its genesis naming `admin` as "admin". Throws on failure.
template <typename Wrapper, typename... Args>
std::unique_ptr<shiplog::Ledger> OpenWrappedLedger(const std::string& path,
                                                   shiplog::SigningKey ledger_key,
                                                   const shiplog::SigningKey& admin,
                                                   shiplog::Clock* clock, Args&&... args) {
  shiplog::InitOptions options;
  options.admin_name = "admin";
  options.admin_public_key = admin.PublicKey();
  {
    auto store = Unwrap(shiplog::OpenRocksStore(path, true), "OpenRocksStore");
    Check(shiplog::Ledger::WriteGenesis(*store, ledger_key, options, clock), "WriteGenesis");
  }
  auto store = std::make_unique<Wrapper>(
      Unwrap(shiplog::OpenRocksStore(path, false), "OpenRocksStore"), std::forward<Args>(args)...);
  return Unwrap(shiplog::Ledger::Open(std::move(store), std::move(ledger_key), clock),
                "Ledger::Open");
}

// ---- a ledger in a temporary directory ----

// A ledger with an admin key and a fake clock. Init() creates it, Open() opens it, Close()
// destroys the Ledger object (releasing the database).
class TestLedger {
 public:
  explicit TestLedger(Micros start = kT0) : clock(start) {}

  Status Init(shiplog::InitOptions options = {}) {
    options.admin_name = admin_name;
    options.admin_public_key = admin.PublicKey();
    if (options.store.empty()) options.store = shiplog::testing::NewTestStoreUrl();
    return shiplog::Ledger::Init(dir(), options, &clock);
  }
  Status Open() {
    auto r = shiplog::Ledger::Open(dir(), &clock);
    if (!r.ok()) return r.status();
    ledger = std::move(r).value();
    return Status::Ok();
  }
  // Init + Open, throwing on failure.
  void Create(shiplog::InitOptions options = {}) {
    Check(Init(options), "Ledger::Init");
    Check(Open(), "Ledger::Open");
  }
  void Close() { ledger.reset(); }

  const std::string& dir() const { return tmp.path(); }

  shiplog::Receipt Append(const shiplog::SignedEvent& e) { return Unwrap(ledger->Append(e), "Append"); }
  shiplog::Receipt Append(const json& j, const shiplog::SigningKey& key) {
    return Append(SignJson(j, key));
  }

  // The admin enrols `key` as `name` with `roles`.
  shiplog::Receipt Enroll(const std::string& name, const shiplog::SigningKey& key,
                          const std::vector<std::string>& roles = {"deployer"}) {
    return Append(KeyEnrolledJson(admin_name, name, key.PublicKey(), roles), admin);
  }
  shiplog::Receipt Revoke(const shiplog::SigningKey& key) {
    return Append(KeyRevokedJson(admin_name, key.PublicKey()), admin);
  }

  TempDir tmp;
  shiplog::FakeClock clock;
  shiplog::SigningKey admin = shiplog::SigningKey::Generate();
  std::string admin_name = "admin";
  std::unique_ptr<shiplog::Ledger> ledger;
};

}  // namespace shiplog_test
