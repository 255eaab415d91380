// The plain timed workloads of shiplog-bench (end to end, too long for Google Benchmark's
// repetitions). Each prints one JSON object of figures on stdout and returns an exit code.
#pragma once

#include <cstdint>
#include <string>

namespace shiplog::bench {

// Where a workload puts its ledger: `dir` when given (kept), else a new temporary directory that
// goes with this object. path() is empty when no temporary directory could be made.
class WorkloadDir {
 public:
  explicit WorkloadDir(const std::string& dir);
  ~WorkloadDir();
  WorkloadDir(const WorkloadDir&) = delete;
  WorkloadDir& operator=(const WorkloadDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string scratch_;  // ours to remove
};

// Appends `records` signed events to a fresh ledger in `dir` (a temporary directory when empty),
// one durable commit each, then measures proofs, receipts, disk use and, with `verify`, a full
// verify.
int RunAppendWorkload(uint64_t records, const std::string& dir, bool verify);

// Builds, in `dir` (which must not hold a ledger; a temporary one when empty), a manual-clock ledger of at least `records`
// records: whole deploy chains of many apps judged by the default policy, with denials and
// waivers among them. Kept for the replay and query workloads. `interleave` 0: one deployment at
// a time, one commit per event; K: K deployments side by side, one commit per stretch of their
// events between two moves of the clock. Reports the append's cost per 100,000 records.
int RunHistoryWorkload(uint64_t records, const std::string& dir, uint64_t interleave);

// One decision timed alone (median, p99) on deployments of 10, 1,000 and 100,000 events, and
// the fold's cost per event.
int RunDecideWorkload(int runs);

// The machine's limits, the references of the other figures (medians of `runs`).
int RunLimitsWorkload(int runs);

// `records` appends by `clients` concurrent clients through the server's AppendPipeline, in
// process (medians of `runs`, each on a fresh ledger).
// `postgres`: a PostgreSQL server's URL where each run makes its database ("" for RocksDB);
// `servers`: ledger homes over that database, each with its own pipeline.
int RunPipelineWorkload(unsigned clients, uint64_t records, int runs, const std::string& postgres,
                        unsigned servers);

// The same over HTTP: `shiplog` (the binary) serves a fresh ledger and `clients` keep-alive
// connections post the events.
int RunHttpWorkload(const std::string& shiplog, unsigned clients, uint64_t records, int runs);

// Replay (from genesis over the first `replay_records` records, and from the nearest snapshot to
// the end), a full verify and three queries on the ledger a history workload left in `dir`.
int RunReadsWorkload(const std::string& dir, uint64_t replay_records, int runs);

// The Kubernetes admission decision timed alone (p50, p99; medians of `runs`) on the ledger a
// history workload left in `dir`: an admitted digest, an unknown one, a tag-only image.
int RunAdmissionWorkload(const std::string& dir, int runs);

}  // namespace shiplog::bench
