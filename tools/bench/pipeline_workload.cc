// `shiplog-bench pipeline`: concurrent appends in process. N clients each submit one pre-signed
// event at a time to the server's AppendPipeline (signature checks on a pool of all cores, one
// sequencer, group commit) and wait for its durable receipt: the server without HTTP.

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "adapters/metrics.h"
#include "adapters/pipeline.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {
namespace {

// One client's wait for one answer.
class Answer {
 public:
  void Set(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ok_ = ok;
    done_ = true;
    cv_.notify_one();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    done_ = false;
    return ok_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool ok_ = false;
};

nlohmann::json RunOnce(unsigned clients, uint64_t records) {
  WorkloadDir workload_dir("");
  if (workload_dir.path().empty()) return nullptr;
  SystemClock clock;
  SigningKey agent = SigningKey::Generate();
  std::unique_ptr<Ledger> ledger = CreateBenchLedger(workload_dir.path(), agent, &clock);
  if (!ledger) return nullptr;
  const std::vector<SignedEvent> events = SignBenchEvents(0, records, agent);

  adapters::Metrics metrics;
  adapters::AppendPipeline::Options options;
  options.verify_threads = std::max(1u, std::thread::hardware_concurrency());
  adapters::AppendPipeline pipeline(*ledger, options, &metrics);
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<bool> failed{false};
  const auto start = BenchClock::now();
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Answer answer;
      for (uint64_t i = c; i < records && !failed; i += clients) {
        const auto sent = BenchClock::now();
        pipeline.Submit(events[i], [&answer](Result<Receipt> receipt) {
          if (!receipt.ok()) std::cerr << "append: " << receipt.status().ToString() << "\n";
          answer.Set(receipt.ok());
        });
        if (!answer.Wait()) failed = true;
        latencies[c].push_back(MicrosSince(sent));
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = MicrosSince(start) / 1e6;
  pipeline.Stop();
  if (failed) return nullptr;
  return ConcurrentAppendFigures(clients, records, seconds, latencies,
                                 static_cast<double>(metrics.batches()));
}

}  // namespace

int RunPipelineWorkload(unsigned clients, uint64_t records, int runs) {
  InitCrypto();
  nlohmann::json out = MedianOfRuns(runs, [&] { return RunOnce(clients, records); });
  if (out.is_null()) return 1;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
