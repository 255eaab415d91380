// `shiplog-bench limits`: what this machine can do at best, the references the other workloads'
// figures are divided by: Ed25519 verifies per second on one core and on all (libsodium), a 4 KiB
// durable write (pwrite + fdatasync, as RocksDB syncs its log), SHA-256 of a record, and Cap'n
// Proto encode and decode of one. Each is measured on a real record of the benchmark stream.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/canonical.h"
#include "schemas/record.capnp.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {
namespace {

// Runs `op` on `threads` threads for about `seconds` and returns the operations per second of
// all of them together.
template <typename Op>
double OpsPerSecond(unsigned threads, double seconds, Op op) {
  std::atomic<uint64_t> total{0};
  std::vector<std::thread> workers;
  const auto start = BenchClock::now();
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      uint64_t n = 0;
      while (MicrosSince(start) < seconds * 1e6) {
        for (int i = 0; i < 64; ++i) op();
        n += 64;
      }
      total += n;
    });
  }
  for (auto& w : workers) w.join();
  return total / (MicrosSince(start) / 1e6);
}

// Nanoseconds per call of `op`, single-threaded, over about a quarter of a second.
template <typename Op>
double NanosPerOp(Op op) {
  return 1e9 / OpsPerSecond(1, 0.25, op);
}

nlohmann::json MeasureFsync(const std::string& dir) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return nullptr;
  const std::string block(4096, 'x');
  std::vector<double> micros;
  for (int i = 0; i < 2000; ++i) {
    const auto start = BenchClock::now();
    // A growing file, as a write-ahead log is: the size changes with every sync.
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i) * 4096) != 4096 ||
        ::fdatasync(fd) != 0) {
      ::close(fd);
      return nullptr;
    }
    micros.push_back(MicrosSince(start));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return LatencySummary(micros);
}

}  // namespace

int RunLimitsWorkload(int runs) {
  InitCrypto();
  WorkloadDir workload_dir("");
  if (workload_dir.path().empty()) return 1;
  const std::string& dir = workload_dir.path();
  SystemClock clock;
  SigningKey agent = SigningKey::Generate();
  std::unique_ptr<Ledger> ledger = CreateBenchLedger(dir, agent, &clock);
  if (!ledger) return 1;
  if (auto r = ledger->Append(MakeBenchEvent(0, agent)); !r.ok()) {
    std::cerr << "append: " << r.status().ToString() << "\n";
    return 1;
  }
  auto record = ledger->Read(ledger->size() - 1);
  if (!record.ok()) {
    std::cerr << "read: " << record.status().ToString() << "\n";
    return 1;
  }
  const SignedEvent& signed_event = record->signed_event;
  const std::string entry = record->entry;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

  nlohmann::json out = MedianOfRuns(runs, [&]() -> nlohmann::json {
    auto verify = [&] {
      if (!VerifySignature(signed_event.public_key, signed_event.payload, signed_event.signature)) {
        std::abort();  // the record's own signature: cannot fail unless memory is broken
      }
    };
    nlohmann::json fsync = MeasureFsync(dir);
    if (fsync.is_null()) {
      std::cerr << "fsync probe in " << dir << " failed\n";
      return nullptr;
    }
    // Decoding as the ledger reads a stored entry: copied to aligned words, checked to be in
    // canonical form, then read.
    uint64_t sink = 0;
    const double decode_ns = NanosPerOp([&] {
      auto message = CanonicalMessage::Parse(entry, 1 << 20);
      auto root = message->Root<schema::Entry>();
      sink += root.getSeq() + root.getEvent().getPayload().size() +
              root.getEvent().getSignature().size();
    });
    auto message = CanonicalMessage::Parse(entry, 1 << 20);
    if (!message.ok()) {
      std::cerr << "the record does not decode: " << message.status().ToString() << "\n";
      return nullptr;
    }
    const auto root = message->Root<schema::Entry>();
    const double encode_ns = NanosPerOp([&] { sink += CanonicalBytes(root).size(); });
    const double sha_ns = NanosPerOp([&] { sink += Sha256WithPrefix(0, entry)[0]; });
    if (sink == 42) std::cerr << "";  // keeps the loops from being optimised away
    return {{"verify_per_s_one_core", OpsPerSecond(1, 1.0, verify)},
            {"verify_per_s_all_cores", OpsPerSecond(cores, 1.0, verify)},
            {"cores", cores},
            {"fdatasync_4k_us", fsync},
            {"record_bytes", entry.size()},
            {"sha256_record_ns", sha_ns},
            {"capnp_encode_record_ns", encode_ns},
            {"capnp_decode_record_ns", decode_ns}};
  });
  if (out.is_null()) return 1;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
