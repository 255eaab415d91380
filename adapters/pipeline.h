// AppendPipeline: how the server appends, fast and durable together.
//
// Signature checks (Ed25519, the costly part) run on a pool of threads (an event that finds the
// pipeline idle is checked and appended on the thread that submits it, sparing it two hand-offs,
// as long as nothing else arrives meanwhile). One sequencer thread then
// takes every checked event waiting and appends them in arrival order as one batch
// (Ledger::AppendBatch: the policy judges each against the ones before it, one store commit, one
// fsync), and only then answers each of them. So with many agents the cost per event approaches
// that of verifying its signature, not that of an fsync.
//
// When a commit fails the ledger stops taking appends (Ledger::Writable). After a full disk, or
// a lost connection to a shared database, the sequencer asks it to resume every kResumeEvery, so
// the server takes appends again, without a restart, soon after space is freed or the database
// (a promoted standby, say) answers; after any other failure (a failed fsync) it stays stopped
// until the server is restarted. Both are logged as they happen.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "adapters/metrics.h"
#include "ledger/ledger.h"

namespace boost::asio {
class thread_pool;
}

namespace shiplog::adapters {

// The signature checkers a pipeline gets by default: one fewer than the machine's cores, and at
// least one. The core left over is the sequencer's and the connections': with every core checking
// signatures, the sequencer (the one thread every append passes through) spent about 40% of the
// time it had work waiting for a core (64 clients in process on 2 cores; /proc schedstat), and
// every append waited with it.
size_t DefaultVerifyThreads();

class AppendPipeline {
 public:
  struct Options {
    size_t verify_threads = DefaultVerifyThreads();
    size_t max_batch = 2048;  // events per commit at most
    // Called after each commit, with the ledger's size, on the thread that appended the batch
    // (the sequencer, or a caller's; never two at once): the live feed's wake-up
    // (adapters/event_feed.h). Must return quickly.
    std::function<void(uint64_t size)> committed;
  };
  // Called once per submitted event, on a pool, the submitting or the sequencer thread, after it
  // is durable (or with why it is not stored); on the submitting thread it may come before
  // Submit returns.
  using Done = std::function<void(Result<Receipt>)>;
  // Called where the check ran once an event's signature verified, before it is queued: a non-OK
  // status refuses it (passed to Done, nothing stored). The per-key rate limit (adapters/rate_limit.h).
  using Admit = std::function<Status(const CheckedEvent&)>;

  AppendPipeline(Ledger& ledger, Options options, Metrics* metrics);
  ~AppendPipeline();  // Stop()
  AppendPipeline(const AppendPipeline&) = delete;
  AppendPipeline& operator=(const AppendPipeline&) = delete;

  // Verifies `event` (on the pool, or on this thread when the pipeline is idle), then queues it
  // for the sequencer.
  void Submit(SignedEvent event, Done done, Admit admit = nullptr);
  // The same for a DSSE envelope's text (Ledger::CheckEnvelope reads it on the pool), given
  // with the deployment an in-toto statement is evidence for.
  void SubmitEnvelope(std::string envelope_text, std::string deployment, Done done,
                      Admit admit = nullptr);
  // Runs `task` on the sequencer thread between two batches: the place to read state the
  // sequencer changes (the policy gate's) without racing an append.
  void RunInSequence(std::function<void()> task);

  // Answers everything submitted so far, then stops the threads. Later submissions are refused
  // with kInternal ("shutting down").
  void Stop();

 private:
  struct Waiting {
    CheckedEvent event;
    Done done;
  };
  // Runs `check` (on the pool, or here when the pipeline is idle) and queues what it
  // gives for the sequencer.
  void Enqueue(std::function<Result<CheckedEvent>()> check, Done done, Admit admit);
  // One check is over (its event queued or answered): Stop() waits for every one.
  void CheckDone();
  void CheckDoneLocked();  // REQUIRES: mu_ held
  // Nothing else is being checked, queued or appended, and the ledger takes appends: the event
  // checked on its caller's thread may be appended there. REQUIRES: mu_ held.
  bool StillAloneLocked() const;
  void SequencerLoop();
  // Runs one batch through the ledger and answers each of its events.
  void AppendAndAnswer(std::vector<Waiting>& batch);
  // After a full disk or a lost database: asks the ledger to resume, at most every kResumeEvery.
  // Sequencer only.
  void ResumeAfterStop();

  static constexpr std::chrono::milliseconds kResumeEvery{250};

  Ledger& ledger_;
  Options options_;
  Metrics* metrics_;
  std::unique_ptr<boost::asio::thread_pool> verifiers_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Waiting> queue_;                    // GUARDED_BY(mu_)
  std::deque<std::function<void()>> tasks_;      // GUARDED_BY(mu_)
  size_t checks_ = 0;                            // GUARDED_BY(mu_): events being checked
  bool sequencing_ = false;                      // GUARDED_BY(mu_): a batch is being appended
  bool appending_here_ = false;                  // GUARDED_BY(mu_): ... on a caller's thread
  bool look_again_ = false;                      // GUARDED_BY(mu_): appends stopped meanwhile
  std::condition_variable checks_done_;          // checks_ fell to 0 after Stop() began
  bool stopping_ = false;                        // GUARDED_BY(mu_): the pool has drained
  bool refusing_ = false;                        // GUARDED_BY(mu_): Stop() was called
  bool sequencer_done_ = false;                  // GUARDED_BY(mu_): the sequencer has returned
  std::chrono::steady_clock::time_point next_resume_;  // sequencer only
  std::once_flag stop_once_;
  std::thread sequencer_;
};

}  // namespace shiplog::adapters
