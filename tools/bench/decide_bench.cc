// The policy's hot paths: one decision, one fold step. Google Benchmark's micro-benchmarks, and
// `shiplog-bench decide`, which times each decision alone for its median and p99.
#include <benchmark/benchmark.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "ledger/crypto.h"
#include "policy/engine.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::policy {
namespace {

using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::map<std::string, std::vector<std::string>> kRoles = {
    {"leon", {"coordinator"}}, {"marta", {"merge-approver"}}, {"ci-bot", {"ci"}},
    {"thijmen", {"k8s-operator"}}, {"rutger", {"production-ops"}}, {"otto", {"backup"}}};

Policy DefaultPolicy() {
  return std::move(*ParsePolicy(DefaultPolicyText(), "default.yaml").policy);
}

Event MakeEvent(const std::string& actor, json e, uint64_t id) {
  e["actor"] = actor;
  e["id"] = "e" + std::to_string(id);
  e["deployment"] = "checkout-1";
  return std::move(Event::FromJson(e).value());
}

// A deployment with `events` events, READY in staging for 20 minutes: production's start is the
// decision to make. Beyond the chain itself, the events are health gate results.
struct Deployment {
  explicit Deployment(int64_t events) : engine(DefaultPolicy()) {
    std::vector<std::pair<std::string, json>> chain = {
        {"leon", {{"kind", "deploy.requested"}, {"app", "checkout"}, {"environment", "production"},
                  {"version", "1"}, {"image", kImage}, {"strategy", "rolling"}, {"risk", "low"},
                  {"planned_steps", {"orchestrate", "build", "staging", "production"}}}},
        {"marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}}},
        {"leon", {{"kind", "step.started"}, {"step", "orchestrate"}}},
        {"leon", {{"kind", "step.reported"}, {"step", "orchestrate"}, {"status", "READY"}}},
        {"ci-bot", {{"kind", "step.started"}, {"step", "build"}}},
        {"ci-bot", {{"kind", "step.reported"}, {"step", "build"}, {"status", "READY"}}},
        {"ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", kImage}}},
        {"thijmen", {{"kind", "step.started"}, {"step", "staging"}}},
        {"thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}}},
        {"otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}}}};
    for (const auto& [actor, e] : chain) Append(actor, e);
    while (static_cast<int64_t>(seq) < events) Append("ci-bot", HealthGate());
    now += 20 * kMicrosPerMinute;
  }

  static json HealthGate() {
    return {{"kind", "gate.result"}, {"gate", "health"}, {"outcome", "pass"},
            {"metrics", {{"p99_ms", 120.5}, {"error_rate_pct", 0.01}}}};
  }

  void Append(const std::string& actor, const json& e) {
    Event event = MakeEvent(actor, e, seq + 1);
    const auto start = bench::BenchClock::now();
    engine.Apply(++seq, now, event, kRoles.at(actor));
    fold_micros += bench::MicrosSince(start);
    now += kMicrosPerSecond;
  }

  Engine engine;
  double fold_micros = 0;  // in Engine::Apply, building the state
  uint64_t seq = 0;
  // 2026-11-24T18:00:00Z: after peak hours (R18), which 100,000 events a second apart stay.
  Micros now = 1795543200LL * kMicrosPerSecond;
};

// One decision with the deployment's state already folded.
void BM_Decide(benchmark::State& state) {
  Deployment d(state.range(0));
  const Event production = MakeEvent("rutger", {{"kind", "step.started"}, {"step", "production"}}, 0);
  for (auto _ : state) {
    Decision decision = d.engine.Decide(production, kRoles.at("rutger"), d.now);
    if (!decision.allowed) state.SkipWithError("production was denied");
    benchmark::DoNotOptimize(decision);
  }
  state.counters["events"] = static_cast<double>(d.seq);
}
BENCHMARK(BM_Decide)->Arg(10)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// Folding one more fact into a deployment: the per-event cost of the fold (decoded event in).
void BM_FoldEvent(benchmark::State& state) {
  Deployment d(10);
  const Event gate = MakeEvent("ci-bot", Deployment::HealthGate(), 0);
  for (auto _ : state) d.engine.Apply(++d.seq, d.now, gate, kRoles.at("ci-bot"));
}
BENCHMARK(BM_FoldEvent)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace shiplog::policy

namespace shiplog::bench {

int RunDecideWorkload(int runs) {
  InitCrypto();
  constexpr int kDecisions = 20000;
  nlohmann::json out = MedianOfRuns(runs, []() -> nlohmann::json {
    nlohmann::json result;
    for (int64_t events : {10, 1000, 100000}) {
      policy::Deployment d(events);
      const Event production = policy::MakeEvent(
          "rutger", {{"kind", "step.started"}, {"step", "production"}}, 0);
      std::vector<double> micros;
      micros.reserve(kDecisions);
      for (int i = 0; i < kDecisions; ++i) {
        const auto start = BenchClock::now();
        policy::Decision decision = d.engine.Decide(production, policy::kRoles.at("rutger"), d.now);
        micros.push_back(MicrosSince(start));
        if (!decision.allowed) {
          std::cerr << "production was denied on a deployment of " << events << " events\n";
          return nullptr;
        }
      }
      nlohmann::json summary = LatencySummary(micros);
      result["decide_us_" + std::to_string(events)] = {{"p50", summary["p50"]},
                                                        {"p99", summary["p99"]}};
      result["fold_us_per_event_" + std::to_string(events)] =
          d.fold_micros / static_cast<double>(d.seq);
    }
    return result;
  });
  if (out.is_null()) return 1;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
