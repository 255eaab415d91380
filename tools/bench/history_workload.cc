// `shiplog-bench history`: builds a realistic ledger for the replay and query workloads. Whole
// deploy chains of many apps go through the default policy on a manual-clock ledger, as agents
// would submit them: every intent is judged, some production starts come too early and are
// denied (R10), some soaks are waived by the release manager (R17).
//
// By default one deployment runs at a time and every event is its own commit (one checkpoint per
// record, the ledger's costliest shape to verify). With --interleave K, K deployments run side by
// side, as a busy team's do, and each stretch of their events between two moves of the clock is
// one commit (AppendBatch, as the server's group commit makes them): how a ledger of millions of
// records is built in minutes rather than hours. The time those commits take, per window of
// records, is the append's cost as the ledger grows.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "policy/policy.h"
#include "policy/policy_gate.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {
namespace {

using nlohmann::json;

constexpr uint64_t kApps = 50;
constexpr Micros kStart = 1795514400000000;  // 2026-11-24T10:00:00Z

// Who signs what, each in one role of the default pack.
const std::map<std::string, std::vector<std::string>>& Actors() {
  static const auto* actors = new std::map<std::string, std::vector<std::string>>{
      {"leon", {"coordinator"}},      {"marta", {"merge-approver"}}, {"ci-bot", {"ci"}},
      {"thijmen", {"k8s-operator"}},  {"rutger", {"production-ops"}}, {"otto", {"backup"}},
      {"rm", {"release-manager"}},    {"anne", {"account-manager"}}};
  return *actors;
}

// Appends events as agents would: one commit each, or (interleaved) queued until the clock moves
// and then appended as one batch.
class HistoryWriter {
 public:
  HistoryWriter(Ledger& ledger, std::map<std::string, SigningKey> keys, bool batched)
      : ledger_(ledger), keys_(std::move(keys)), batched_(batched) {}

  // Appends `body` as `actor`'s event of `deployment` (or queues it); false on an error (a denial
  // is no error).
  bool Append(const std::string& actor, const std::string& deployment, json body) {
    body["id"] = "h-" + std::to_string(next_id_++);
    body["actor"] = actor;
    if (!deployment.empty()) body["deployment"] = deployment;
    auto event = Event::FromJson(body);
    if (!event.ok()) return Fail(event.status());
    if (batched_) {
      queued_.push_back({std::move(*event), &keys_.at(actor)});
      return true;
    }
    const auto start = BenchClock::now();
    auto receipt = ledger_.Append(SignedEvent::Sign(*event, keys_.at(actor)));
    append_micros_ += MicrosSince(start);
    if (!receipt.ok()) return Fail(receipt.status());
    denied_ += receipt->denied;
    return true;
  }

  // Appends what is queued as one batch. The events are signed and their signatures checked on
  // both cores first: that is the clients' and the verifier pool's work, not the commit's.
  bool Flush() {
    if (queued_.empty()) return true;
    std::vector<std::optional<Result<CheckedEvent>>> checked(queued_.size());
    auto check = [&](size_t first) {
      for (size_t i = first; i < queued_.size(); i += 2) {
        checked[i] = CheckEvent(SignedEvent::Sign(queued_[i].event, *queued_[i].key));
      }
    };
    std::thread other(check, 1);
    check(0);
    other.join();
    queued_.clear();
    std::vector<CheckedEvent> batch;
    batch.reserve(checked.size());
    for (auto& c : checked) {
      if (!c->ok()) return Fail(c->status());
      batch.push_back(std::move(**c));
    }
    const auto start = BenchClock::now();
    auto receipts = ledger_.AppendBatch(std::move(batch));
    append_micros_ += MicrosSince(start);
    for (const auto& receipt : receipts) {
      if (!receipt.ok()) return Fail(receipt.status());
      denied_ += receipt->denied;
    }
    return true;
  }

  bool Advance(Micros by) {
    if (!Flush()) return false;
    Status status = ledger_.AdvanceClock(by);
    return status.ok() || Fail(status);
  }

  // A deployment from its request to its staging soak: 11 records.
  bool Start(uint64_t n) {
    const std::string id = Id(n);
    const std::string image = Image(n);
    return Append("leon", id,
                  {{"kind", "deploy.requested"}, {"app", App(n)}, {"environment", "production"},
                   {"version", "1." + std::to_string(n)}, {"image", image},
                   {"strategy", "rolling"}, {"risk", "low"},
                   {"planned_steps", {"orchestrate", "build", "staging", "production"}}}) &&
           Append("marta", id,
                  {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}}) &&
           Step(n, "leon", "orchestrate") && Step(n, "ci-bot", "build") &&
           Append("ci-bot", id, {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                                 {"image", image}}) &&
           Step(n, "thijmen", "staging") &&
           Append("otto", id, {{"kind", "backup.verified"}, {"scope", "db"},
                               {"backup_id", "b-" + std::to_string(n)}}) &&
           // The history runs around the clock: production starts in peak hours too (R18).
           Append("anne", id, {{"kind", "review"}, {"subject", "client-agreement"},
                               {"verdict", "approved"}});
  }
  // One deployment in ten starts production too early: R10 denies it, recorded as policy.denied.
  static bool StartsEarly(uint64_t n) { return n % 10 == 3; }
  bool EarlyStart(uint64_t n) {
    return Append("rutger", Id(n), {{"kind", "step.started"}, {"step", "production"}});
  }
  // One in 25 has its soak waived by the release manager (R17).
  static bool Waived(uint64_t n) { return n % 25 == 7; }
  bool Waive(uint64_t n) {
    return Append("rm", Id(n), {{"kind", "waiver.granted"}, {"rule", "R10"},
                                {"reason", "hotfix " + std::to_string(n)}});
  }
  bool Production(uint64_t n) { return Step(n, "rutger", "production"); }
  bool Complete(uint64_t n) { return Append("leon", Id(n), {{"kind", "deploy.completed"}}); }

  // One deployment from request to completion, alone: 15 to 17 records.
  bool Deploy(uint64_t n) {
    bool ok = Start(n);
    if (ok && StartsEarly(n)) ok = Advance(5 * kMicrosPerMinute) && EarlyStart(n);
    if (ok && Waived(n)) {
      ok = Waive(n);
    } else {
      ok = ok && Advance(15 * kMicrosPerMinute);
    }
    return ok && Production(n) && Advance(15 * kMicrosPerMinute) && Complete(n);
  }

  // Deployments [first, first + count) side by side, count at most kApps (they are of distinct
  // apps): each stretch between two moves of the clock is one batch. Every soak is 20 minutes,
  // the early starts come at 5.
  bool DeployInterleaved(uint64_t first, uint64_t count) {
    const uint64_t end = first + count;
    for (uint64_t n = first; n < end; ++n) {
      if (!Start(n)) return false;
    }
    if (!Advance(5 * kMicrosPerMinute)) return false;
    for (uint64_t n = first; n < end; ++n) {
      if (StartsEarly(n) && !EarlyStart(n)) return false;
      if (Waived(n) && !Waive(n)) return false;
    }
    if (!Advance(15 * kMicrosPerMinute)) return false;
    for (uint64_t n = first; n < end; ++n) {
      if (!Production(n)) return false;
    }
    if (!Advance(15 * kMicrosPerMinute)) return false;
    for (uint64_t n = first; n < end; ++n) {
      if (!Complete(n)) return false;
    }
    return Flush();
  }

  uint64_t denied() const { return denied_; }
  // Time spent in the ledger's Append and AppendBatch (staging, sealing, the commit).
  double append_micros() const { return append_micros_; }

 private:
  static std::string App(uint64_t n) { return "app-" + std::to_string(n % kApps); }
  static std::string Id(uint64_t n) { return App(n) + "-" + std::to_string(n / kApps); }
  static std::string Image(uint64_t n) {
    return "registry.example/" + App(n) + "@sha256:" +
           HexEncode(AsBytes(Sha256("image " + std::to_string(n))));
  }
  bool Step(uint64_t n, const std::string& actor, const std::string& name) {
    return Append(actor, Id(n), {{"kind", "step.started"}, {"step", name}}) &&
           Append(actor, Id(n), {{"kind", "step.reported"}, {"step", name}, {"status", "READY"}});
  }

  bool Fail(const Status& status) {
    std::cerr << "shiplog-bench history: " << status.ToString() << "\n";
    return false;
  }

  struct Queued {
    Event event;
    const SigningKey* key;
  };

  Ledger& ledger_;
  std::map<std::string, SigningKey> keys_;
  const bool batched_;
  std::vector<Queued> queued_;
  uint64_t next_id_ = 0;
  uint64_t denied_ = 0;
  double append_micros_ = 0;
};

}  // namespace

int RunHistoryWorkload(uint64_t records, const std::string& dir_arg, uint64_t interleave) {
  if (interleave > kApps) {
    // R5: one deployment of an app to production at a time.
    std::cerr << "shiplog-bench history: --interleave takes at most " << kApps
              << ", one deployment of each app at a time (R5)\n";
    return 2;
  }
  InitCrypto();
  WorkloadDir workload_dir(dir_arg);
  if (workload_dir.path().empty()) return 1;
  const std::string& dir = workload_dir.path();
  SystemClock unused_clock;  // a manual-clock ledger never reads it
  SigningKey admin = SigningKey::Generate();
  InitOptions options;
  options.admin_public_key = admin.PublicKey();
  options.manual_clock = true;
  options.manual_clock_start = kStart;
  options.policy = std::string(policy::DefaultPolicyText());
  if (Status s = Ledger::Init(dir, options, &unused_clock); !s.ok()) {
    std::cerr << "shiplog-bench history: " << s.ToString() << "\n";
    return 1;
  }
  policy::PolicyGate gate;
  auto ledger = Ledger::Open(dir, &unused_clock, &gate);
  if (!ledger.ok()) {
    std::cerr << "shiplog-bench history: " << ledger.status().ToString() << "\n";
    return 1;
  }
  std::map<std::string, SigningKey> keys;
  for (const auto& [name, roles] : Actors()) {
    SigningKey key = SigningKey::Generate();
    json enrol = {{"id", "enrol-" + name}, {"kind", "key.enrolled"}, {"actor", "admin"},
                  {"name", name}, {"public_key", HexEncode(key.PublicKey())}, {"roles", roles}};
    auto receipt = (*ledger)->Append(SignedEvent::Sign(*Event::FromJson(enrol), admin));
    if (!receipt.ok()) {
      std::cerr << "shiplog-bench history: " << receipt.status().ToString() << "\n";
      return 1;
    }
    keys.emplace(name, std::move(key));
  }
  HistoryWriter writer(**ledger, std::move(keys), interleave > 0);
  // The append's cost per window of kWindow records: flat is the goal.
  constexpr uint64_t kWindow = 100000;
  json windows = json::array();
  uint64_t window_start_size = (*ledger)->size();
  double window_start_micros = 0;
  uint64_t deployments = 0;
  while ((*ledger)->size() < records) {
    const uint64_t count = std::max<uint64_t>(interleave, 1);
    const bool ok = interleave > 0 ? writer.DeployInterleaved(deployments, count)
                                   : writer.Deploy(deployments);
    if (!ok) return 1;
    deployments += count;
    const uint64_t size = (*ledger)->size();
    if (size / kWindow > window_start_size / kWindow || size >= records) {
      const double micros = writer.append_micros() - window_start_micros;
      windows.push_back({{"records_at_end", size},
                         {"append_us_per_record", micros / double(size - window_start_size)}});
      window_start_size = size;
      window_start_micros = writer.append_micros();
      std::fprintf(stderr, "\r%llu records, %llu deployments",
                   static_cast<unsigned long long>(size),
                   static_cast<unsigned long long>(deployments));
    }
  }
  std::fprintf(stderr, "\n");
  json out = {{"dir", dir},
              {"records", (*ledger)->size()},
              {"deployments", deployments},
              {"apps", kApps},
              {"interleave", interleave},
              {"denied", writer.denied()},
              {"ledger_key", HexEncode((*ledger)->public_key())},
              {"append_windows", windows}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
