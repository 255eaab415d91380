// The event codec's hot paths, one event at a time: building an event from JSON (the CLI and the
// adapters), reading a signed event's bytes with the full canonical check (every append, verify),
// reading the ledger's own record (replay, queries) and printing an event as JSON (the policy's
// fold, receipts). Google Benchmark's micro-benchmarks; the event is a deploy request, the kind
// with the most fields.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "ledger/event.h"

namespace shiplog {
namespace {

using json = nlohmann::json;

json DeployRequest() {
  return {{"kind", "deploy.requested"},
          {"id", "e-1"},
          {"actor", "leon"},
          {"deployment", "checkout-2026-11-24.1"},
          {"app", "checkout"},
          {"environment", "production"},
          {"version", "2.14.0"},
          {"image", "registry.example/checkout@sha256:"
                    "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"},
          {"strategy", "blue-green"},
          {"changes", {{"infra", true}, {"db_migration", "additive"}, {"reversible", true}}},
          {"risk", "high"},
          {"planned_steps", {"orchestrate", "build", "staging", "production"}}};
}

void BM_EventFromJson(benchmark::State& state) {
  const json event = DeployRequest();
  for (auto _ : state) benchmark::DoNotOptimize(Event::FromJson(event));
}
BENCHMARK(BM_EventFromJson)->Unit(benchmark::kMicrosecond);

void BM_EventFromCanonical(benchmark::State& state) {
  const std::string bytes(Event::FromJson(DeployRequest()).value().bytes());
  for (auto _ : state) benchmark::DoNotOptimize(Event::FromCanonical(bytes));
}
BENCHMARK(BM_EventFromCanonical)->Unit(benchmark::kMicrosecond);

void BM_EventFromCheckedCanonical(benchmark::State& state) {
  const std::string bytes(Event::FromJson(DeployRequest()).value().bytes());
  for (auto _ : state) benchmark::DoNotOptimize(Event::FromCheckedCanonical(bytes));
}
BENCHMARK(BM_EventFromCheckedCanonical)->Unit(benchmark::kMicrosecond);

void BM_EventToJson(benchmark::State& state) {
  const Event event = Event::FromJson(DeployRequest()).value();
  for (auto _ : state) benchmark::DoNotOptimize(event.ToJson());
}
BENCHMARK(BM_EventToJson)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace shiplog
