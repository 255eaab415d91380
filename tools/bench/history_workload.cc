// `shiplog-bench history`: builds a realistic ledger for the replay and query workloads. Whole
// deploy chains of many apps go through the default policy on a manual-clock ledger, as agents
// would submit them: every intent is judged, some production starts come too early and are
// denied (R10), some soaks are waived by the release manager (R17).
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "policy/policy.h"
#include "policy/policy_gate.h"
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

class HistoryWriter {
 public:
  HistoryWriter(Ledger& ledger, std::map<std::string, SigningKey> keys)
      : ledger_(ledger), keys_(std::move(keys)) {}

  // Appends `body` as `actor`'s event of `deployment`; false on an error (a denial is no error).
  bool Append(const std::string& actor, const std::string& deployment, json body) {
    body["id"] = "h-" + std::to_string(next_id_++);
    body["actor"] = actor;
    if (!deployment.empty()) body["deployment"] = deployment;
    auto event = Event::FromJson(body);
    if (!event.ok()) return Fail(event.status());
    auto receipt = ledger_.Append(SignedEvent::Sign(*event, keys_.at(actor)));
    if (!receipt.ok()) return Fail(receipt.status());
    denied_ += receipt->denied;
    return true;
  }

  bool Advance(Micros by) {
    Status status = ledger_.AdvanceClock(by);
    return status.ok() || Fail(status);
  }

  // One deployment from request to completion: 15 to 17 records.
  bool Deploy(uint64_t n) {
    const std::string app = "app-" + std::to_string(n % kApps);
    const std::string id = app + "-" + std::to_string(n / kApps);
    const std::string image = "registry.example/" + app + "@sha256:" +
                              HexEncode(AsBytes(Sha256("image " + std::to_string(n))));
    auto step = [&](const std::string& actor, const std::string& name) {
      return Append(actor, id, {{"kind", "step.started"}, {"step", name}}) &&
             Append(actor, id, {{"kind", "step.reported"}, {"step", name}, {"status", "READY"}});
    };
    bool ok = Append("leon", id,
                     {{"kind", "deploy.requested"}, {"app", app}, {"environment", "production"},
                      {"version", "1." + std::to_string(n)}, {"image", image},
                      {"strategy", "rolling"}, {"risk", "low"},
                      {"planned_steps", {"orchestrate", "build", "staging", "production"}}}) &&
              Append("marta", id, {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}}) &&
              step("leon", "orchestrate") && step("ci-bot", "build") &&
              Append("ci-bot", id, {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                                    {"image", image}}) &&
              step("thijmen", "staging") &&
              Append("otto", id, {{"kind", "backup.verified"}, {"scope", "db"},
                                  {"backup_id", "b-" + std::to_string(n)}}) &&
              // The history runs around the clock: production starts in peak hours too (R18).
              Append("anne", id, {{"kind", "review"}, {"subject", "client-agreement"},
                                  {"verdict", "approved"}});
    if (!ok) return false;
    if (n % 10 == 3) {  // too early: R10 denies, recorded as policy.denied
      ok = Advance(5 * kMicrosPerMinute) &&
           Append("rutger", id, {{"kind", "step.started"}, {"step", "production"}});
    }
    if (n % 25 == 7) {
      ok = ok && Append("rm", id, {{"kind", "waiver.granted"}, {"rule", "R10"},
                                   {"reason", "hotfix " + std::to_string(n)}});
    } else {
      ok = ok && Advance(15 * kMicrosPerMinute);
    }
    return ok && step("rutger", "production") && Advance(15 * kMicrosPerMinute) &&
           Append("leon", id, {{"kind", "deploy.completed"}});
  }

  uint64_t denied() const { return denied_; }

 private:
  bool Fail(const Status& status) {
    std::cerr << "shiplog-bench history: " << status.ToString() << "\n";
    return false;
  }

  Ledger& ledger_;
  std::map<std::string, SigningKey> keys_;
  uint64_t next_id_ = 0;
  uint64_t denied_ = 0;
};

}  // namespace

int RunHistoryWorkload(uint64_t records, const std::string& dir_arg) {
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
  HistoryWriter writer(**ledger, std::move(keys));
  uint64_t deployments = 0;
  while ((*ledger)->size() < records) {
    if (!writer.Deploy(deployments++)) return 1;
    if (deployments % 1000 == 0) {
      std::fprintf(stderr, "\r%llu records, %llu deployments",
                   static_cast<unsigned long long>((*ledger)->size()),
                   static_cast<unsigned long long>(deployments));
    }
  }
  std::fprintf(stderr, "\n");
  json out = {{"dir", dir},
              {"records", (*ledger)->size()},
              {"deployments", deployments},
              {"apps", kApps},
              {"denied", writer.denied()},
              {"ledger_key", HexEncode((*ledger)->public_key())}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
