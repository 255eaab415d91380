// What the timed workloads share: a fresh ledger with an enrolled agent, the event stream they
// all append (and that the peers' scripts are fed), latency summaries and medians over runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/ledger.h"

namespace shiplog::bench {

using BenchClock = std::chrono::steady_clock;

inline double MicrosSince(BenchClock::time_point start) {
  return std::chrono::duration<double, std::micro>(BenchClock::now() - start).count();
}

// The agent every workload appends as: enrolled with the "ci" role, which owns the build step.
constexpr char kBenchActor[] = "ci";

// Event `i` of the benchmark stream: a signed build report, twenty to a deployment, so the
// stream touches many deployments as a busy ledger does (step.reported is a fact: the policy
// records it without a decision).
SignedEvent MakeBenchEvent(uint64_t i, const SigningKey& key);

// A fresh ledger (real clock) in `dir` whose admin has enrolled `agent` as kBenchActor, its
// records in the empty PostgreSQL database at `store` when given. Returns the open ledger; prints
// why and returns null on failure.
std::unique_ptr<Ledger> CreateBenchLedger(const std::string& dir, const SigningKey& agent,
                                          SystemClock* clock, const std::string& store = "");

// Signs events [first, first + count) on all cores: the agents' work, done before the clock runs.
// Opens the ledger a workload left in `dir` (a history ledger); null, having said why on stderr,
// when it does not open.
std::unique_ptr<Ledger> OpenBenchLedger(const std::string& dir, Clock* clock);

std::vector<SignedEvent> SignBenchEvents(uint64_t first, uint64_t count, const SigningKey& key);

// The value at fraction `p` (0.5: the median) of `sorted`, which is in ascending order; 0 if empty.
double Percentile(const std::vector<double>& sorted, double p);

// Latencies in microseconds: {"p50", "p99", "p999"}; sorts `micros`.
nlohmann::json LatencySummary(std::vector<double>& micros);

// What a run of concurrent clients appending reports, in process or over HTTP: its rate, the
// latencies of every client together (in microseconds) and fsyncs (commits) per event.
nlohmann::json ConcurrentAppendFigures(unsigned clients, uint64_t events, double seconds,
                                       const std::vector<std::vector<double>>& latencies,
                                       double commits);

// Runs `run` `runs` times and returns, for every number in its result, the median over the runs
// (the first run's value for anything else). A failed run (null) fails the whole.
nlohmann::json MedianOfRuns(int runs, const std::function<nlohmann::json()>& run);

// The peak resident memory of process `pid` so far, in bytes (VmHWM); 0 when unknown.
uint64_t PeakResidentBytes(int pid);

uint64_t DirectoryBytes(const std::string& dir);

}  // namespace shiplog::bench
