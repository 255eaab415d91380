// Many clients appending to a running `shiplog serve` at once, for the fault and crash tests:
// each client signs deploy requests of its own and submits them one after another, until the
// server refuses one, stops answering (killed), or the test stops the load. Every answer is kept,
// and every receipt is checked against the ledger's public key before it counts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http_client.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {

// What a load's clients were answered.
struct AppendAnswers {
  std::map<uint64_t, std::string> receipts;   // seq -> event id, of every receipt (HTTP 200)
  std::vector<adapters::HttpReply> refusals;  // every other answer
  size_t cut_off = 0;                         // calls that got no answer (the server was gone)
  std::vector<std::string> problems;          // receipts that do not verify, a seq given twice
};

class AppendLoad {
 public:
  struct Options {
    size_t clients = 8;
    std::vector<std::string> agents;  // enrolled coordinators; client i signs as agents[i % n]
    std::string id_prefix;            // event ids are PREFIX-cCLIENT-N, unique per load
    size_t max_per_client = 100000;
  };

  // Starts the clients against `server` (running), whose ledger key checks the receipts.
  AppendLoad(const ServerProcess& server, Options options);
  ~AppendLoad();  // Stop()
  AppendLoad(const AppendLoad&) = delete;
  AppendLoad& operator=(const AppendLoad&) = delete;

  // Waits until `count` receipts came in, or every client finished, or `limit` passed (a bound
  // so a broken server fails the test instead of hanging it); true when they came.
  bool WaitForReceipts(size_t count, std::chrono::seconds limit);
  // Waits until every client finished (each is refused or cut off in the end), or `limit` passed;
  // true when they all did.
  bool WaitUntilDone(std::chrono::seconds limit);
  // Tells the clients to stop after their current call, and waits for them.
  void Stop();
  // How many receipts came in so far, while the clients run.
  size_t receipts() const;
  // Everything answered so far. REQUIRES: Stop() called.
  const AppendAnswers& answers() const { return answers_; }

 private:
  void RunClient(size_t client);
  // Records the answer to the event `id`; false when the client should stop.
  bool Record(const std::string& id, const Result<adapters::HttpReply>& reply);

  const Options options_;
  const adapters::ServerUrl url_;
  const std::string ledger_key_;
  const ServerProcess& server_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  AppendAnswers answers_;  // GUARDED_BY(mu_)
  size_t finished_ = 0;    // GUARDED_BY(mu_): clients that returned
  bool stop_ = false;      // GUARDED_BY(mu_)
  std::vector<std::thread> clients_;
};

// The receipts in `receipts` (seq -> event id) whose record is not in the ledger in `data_dir`
// at that seq, described; the server must be stopped (its store is locked while it runs).
std::vector<std::string> MissingReceipts(const std::string& data_dir,
                                         const std::map<uint64_t, std::string>& receipts);

}  // namespace shiplog::testing
