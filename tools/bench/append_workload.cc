// `shiplog-bench append`: a plain timed workload. Appends N signed events, one durable commit
// (record, tree nodes, signed checkpoint, fsync) each, to a fresh RocksDB ledger on disk, then
// measures what the verifiable log costs at that size: the proofs' sizes and the reads and time
// to build them, the receipt's size, the disk used per record, and a full verify.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {

int RunAppendWorkload(uint64_t records, const std::string& dir_arg, bool verify) {
  InitCrypto();
  // Declared before the ledger, so the database is closed before its directory goes.
  WorkloadDir workload_dir(dir_arg);
  if (workload_dir.path().empty()) return 1;
  const std::string& dir = workload_dir.path();
  SystemClock clock;
  SigningKey agent = SigningKey::Generate();
  std::unique_ptr<Ledger> ledger = CreateBenchLedger(dir, agent, &clock);
  if (!ledger) return 1;

  // Events are signed ahead in chunks: signing is the agent's work, not the ledger's.
  constexpr uint64_t kChunk = 10000;
  std::vector<double> latencies;
  latencies.reserve(records);
  double append_micros = 0;
  size_t receipt_bytes = 0;
  for (uint64_t done = 0; done < records;) {
    std::vector<SignedEvent> chunk;
    for (uint64_t i = done; i < std::min(records, done + kChunk); ++i) {
      chunk.push_back(MakeBenchEvent(i, agent));
    }
    for (const SignedEvent& e : chunk) {
      auto start = BenchClock::now();
      auto receipt = ledger->Append(e);
      double took = MicrosSince(start);
      if (!receipt.ok()) {
        std::cerr << "append " << done << ": " << receipt.status().ToString() << "\n";
        return 1;
      }
      receipt_bytes = receipt->ToCapnpMessage().size();
      latencies.push_back(took);
      append_micros += took;
      ++done;
    }
    std::fprintf(stderr, "\rappended %llu of %llu", static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(records));
  }
  std::fprintf(stderr, "\n");

  const uint64_t size = ledger->size();
  // Proofs at the final size: median build time over many random leaves.
  std::vector<double> inclusion_micros, consistency_micros;
  size_t inclusion_hashes = 0, consistency_hashes = 0;
  uint64_t state = 88172645463325252ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int i = 0; i < 200; ++i) {
    uint64_t seq = next() % size;
    auto start = BenchClock::now();
    auto proof = ledger->ProveInclusion(seq, std::nullopt);
    inclusion_micros.push_back(MicrosSince(start));
    if (!proof.ok() || !proof->Verify().ok()) {
      std::cerr << "inclusion proof for " << seq << " failed\n";
      return 1;
    }
    inclusion_hashes = std::max(inclusion_hashes, proof->path.size());
    uint64_t from = 1 + next() % (size - 1);
    start = BenchClock::now();
    auto consistency = ledger->ProveConsistency(from, size);
    consistency_micros.push_back(MicrosSince(start));
    if (!consistency.ok() || !consistency->Verify().ok()) {
      std::cerr << "consistency proof from " << from << " failed\n";
      return 1;
    }
    consistency_hashes = std::max(consistency_hashes, consistency->path.size());
  }
  std::sort(inclusion_micros.begin(), inclusion_micros.end());
  std::sort(consistency_micros.begin(), consistency_micros.end());
  const Checkpoint checkpoint = ledger->LatestCheckpoint();

  nlohmann::json out = {
      {"records", size},
      {"append_seconds", append_micros / 1e6},
      {"appends_per_second", records / (append_micros / 1e6)},
      {"append_latency_us", LatencySummary(latencies)},
      {"inclusion_proof", {{"max_hashes", inclusion_hashes},
                           {"max_bytes", inclusion_hashes * kSha256Size},
                           {"build_us_p50", Percentile(inclusion_micros, 0.5)}}},
      {"consistency_proof", {{"max_hashes", consistency_hashes},
                             {"max_bytes", consistency_hashes * kSha256Size},
                             {"build_us_p50", Percentile(consistency_micros, 0.5)}}},
      {"receipt_bytes", receipt_bytes},
      {"checkpoint_note_bytes", checkpoint.note.size()},
      {"disk_bytes_per_record", static_cast<double>(DirectoryBytes(dir)) / size}};
  if (verify) {
    auto start = BenchClock::now();
    auto report = ledger->Verify();
    double seconds = MicrosSince(start) / 1e6;
    if (!report.ok() || !report->ok) {
      std::cerr << "verify failed\n";
      return 1;
    }
    out["verify_seconds"] = seconds;
    out["verify_records_per_second"] = size / seconds;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
