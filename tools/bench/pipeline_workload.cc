// `shiplog-bench pipeline`: concurrent appends in process. N clients each submit one pre-signed
// event at a time to the server's AppendPipeline (signature checks on a pool of all cores, one
// sequencer, group commit) and wait for its durable receipt: the server without HTTP.
//
// With --postgres URL the ledger is in PostgreSQL: each run makes a new database on that server
// (CREATE DATABASE, dropped after), and with --servers S there are S ledger homes over it, each
// with its own pipeline, as S `shiplog serve` would be, the clients spread over them: every batch
// then takes the database's append lock and folds the others' records first.

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <libpq-fe.h>
#include <unistd.h>

#include "adapters/metrics.h"
#include "ledger/key_file.h"
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

// `url` with its database name replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database) {
  const size_t hosts = url.find("://") + 3;
  const size_t query = url.find('?', hosts);
  // A '/' in the query (host=/run/socket) is not the path's.
  const size_t slash = std::min(url.find('/', hosts), query);
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  const size_t end = std::min(slash, url.size());
  return url.substr(0, end) + "/" + database + tail;
}

// Runs one statement on the database at `url`; false, with the error on stderr, on failure.
bool RunSql(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(conn, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!ok) std::cerr << "postgres: " << PQerrorMessage(conn);
  PQfinish(conn);
  return ok;
}

// A database made for one run, dropped when the run is over.
class RunDatabase {
 public:
  explicit RunDatabase(std::string server_url) : server_url_(std::move(server_url)) {
    static int runs = 0;
    name_ = "shiplog_bench_" + std::to_string(::getpid()) + "_" + std::to_string(runs++);
    made_ = RunSql(server_url_, "CREATE DATABASE " + name_);
  }
  ~RunDatabase() {
    if (made_) RunSql(server_url_, "DROP DATABASE " + name_);
  }
  bool made() const { return made_; }
  std::string url() const { return WithDatabase(server_url_, name_); }

 private:
  std::string server_url_;
  std::string name_;
  bool made_ = false;
};

nlohmann::json RunOnce(unsigned clients, uint64_t records, const std::string& postgres,
                       unsigned servers) {
  WorkloadDir workload_dir("");
  if (workload_dir.path().empty()) return nullptr;
  std::optional<RunDatabase> database;
  if (!postgres.empty()) {
    database.emplace(postgres);
    if (!database->made()) return nullptr;
  }
  SystemClock clock;
  SigningKey agent = SigningKey::Generate();
  std::vector<std::unique_ptr<Ledger>> ledgers;
  const std::string first = workload_dir.path() + "/home0";
  ledgers.push_back(
      CreateBenchLedger(first, agent, &clock, database ? database->url() : std::string()));
  if (!ledgers.back()) return nullptr;
  for (unsigned s = 1; s < servers; ++s) {
    const std::string home = workload_dir.path() + "/home" + std::to_string(s);
    auto key = ReadKeyFile(first + "/ledger.key");
    Status attached = key.ok() ? Ledger::Attach(home, database->url(), *key) : key.status();
    if (!attached.ok()) {
      std::cerr << "attach: " << attached.ToString() << "\n";
      return nullptr;
    }
    ledgers.push_back(OpenBenchLedger(home, &clock));
    if (!ledgers.back()) return nullptr;
  }
  const std::vector<SignedEvent> events = SignBenchEvents(0, records, agent);

  adapters::Metrics metrics;
  adapters::AppendPipeline::Options options;  // the server's defaults (verify threads too)
  std::vector<std::unique_ptr<adapters::AppendPipeline>> pipelines;
  for (auto& ledger : ledgers) {
    pipelines.push_back(std::make_unique<adapters::AppendPipeline>(*ledger, options, &metrics));
  }
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<bool> failed{false};
  const auto start = BenchClock::now();
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Answer answer;
      for (uint64_t i = c; i < records && !failed; i += clients) {
        const auto sent = BenchClock::now();
        pipelines[c % pipelines.size()]->Submit(events[i], [&answer](Result<Receipt> receipt) {
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
  for (auto& pipeline : pipelines) pipeline->Stop();
  pipelines.clear();
  // A full verify of what the clients wrote: a ledger written under load holds one checkpoint
  // per commit, not per record as the history ledger (one append per commit) does.
  std::optional<double> verify_seconds;
  uint64_t checkpoints = 0;
  if (!failed && !database) {
    const auto verify_start = BenchClock::now();
    auto report = ledgers.front()->Verify();
    if (!report.ok() || !report->ok) {
      std::cerr << "verify failed\n";
      failed = true;
    } else {
      verify_seconds = MicrosSince(verify_start) / 1e6;
      checkpoints = report->checkpoints;
    }
  }
  ledgers.clear();  // their connections, before the database is dropped
  if (failed) return nullptr;
  nlohmann::json figures = ConcurrentAppendFigures(clients, records, seconds, latencies,
                                                   static_cast<double>(metrics.batches()));
  if (verify_seconds) {
    figures["verify_per_s"] = static_cast<double>(records) / *verify_seconds;
    figures["verify_checkpoints"] = checkpoints;
  }
  figures["store"] = database ? "postgresql" : "rocksdb";
  figures["servers"] = servers;
  return figures;
}

}  // namespace

int RunPipelineWorkload(unsigned clients, uint64_t records, int runs, const std::string& postgres,
                        unsigned servers) {
  InitCrypto();
  if (servers > 1 && postgres.empty()) {
    std::cerr << "shiplog-bench: --servers needs --postgres (a RocksDB ledger has one writer)\n";
    return 2;
  }
  nlohmann::json out =
      MedianOfRuns(runs, [&] { return RunOnce(clients, records, postgres, servers); });
  if (out.is_null()) return 1;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
