#include "adapters/pipeline.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <vector>

namespace shiplog::adapters {
namespace {

// The last resort for a callback that threw (the routes guard their own and answer 500): log
// it and keep the pool and the sequencer running for everyone else.
template <typename Callback>
void RunGuarded(const char* what, Callback&& callback) noexcept {
  try {
    callback();
  } catch (const std::exception& e) {
    spdlog::error("{} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("{} threw something that is not a std::exception", what);
  }
}

}  // namespace

size_t DefaultVerifyThreads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? cores - 1 : 1;
}

AppendPipeline::AppendPipeline(Ledger& ledger, Options options, Metrics* metrics)
    : ledger_(ledger),
      options_(options),
      metrics_(metrics),
      verifiers_(std::make_unique<boost::asio::thread_pool>(options.verify_threads)),
      sequencer_([this] { SequencerLoop(); }) {}

AppendPipeline::~AppendPipeline() { Stop(); }

void AppendPipeline::Submit(SignedEvent event, Done done, Admit admit) {
  Enqueue([event = std::move(event)]() mutable { return CheckEvent(std::move(event)); },
          std::move(done), std::move(admit));
}

void AppendPipeline::SubmitEnvelope(std::string envelope_text, std::string deployment,
                                    Done done, Admit admit) {
  Enqueue(
      [this, text = std::move(envelope_text), deployment = std::move(deployment)]() mutable {
        return ledger_.CheckEnvelope(std::move(text), deployment);
      },
      std::move(done), std::move(admit));
}

void AppendPipeline::Enqueue(std::function<Result<CheckedEvent>()> check, Done done,
                             Admit admit) {
  bool alone = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refusing_) {
      RunGuarded("an append's callback",
                 [&] { done(Status::Internal("the server is shutting down")); });
      return;
    }
    alone = checks_ == 0 && queue_.empty() && !sequencing_;
    ++checks_;
  }
  auto work = [this, alone, check = std::move(check), done = std::move(done),
               admit = std::move(admit)]() mutable {
    auto checked = check();
    if (checked.ok() && admit) {
      if (Status admitted = admit(*checked); !admitted.ok()) checked = admitted;
    }
    if (!checked.ok()) {
      CheckDone();
      RunGuarded("an append's callback", [&] { done(checked.status()); });
      return;
    }
    std::vector<Waiting> here;
    bool for_the_sequencer = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (alone && StillAloneLocked()) {
        // Still idle: appended here too (see below). It stays counted in checks_ until
        // answered, so that Stop() waits for it.
        here.push_back({std::move(checked).value(), std::move(done)});
        sequencing_ = appending_here_ = true;
      } else {
        queue_.push_back({std::move(checked).value(), std::move(done)});
        CheckDoneLocked();
      }
    }
    if (!here.empty()) {
      AppendAndAnswer(here);
      const bool stopped = !ledger_.Writable().ok();
      std::lock_guard<std::mutex> lock(mu_);
      appending_here_ = false;
      // A commit that failed here stopped appends, and it is the sequencer that asks the ledger
      // to resume (ResumeAfterStop): it must wake to see that, or it sleeps on.
      if (stopped) look_again_ = true;
      CheckDoneLocked();
      // What was queued meanwhile waited for this batch; with nothing, the sequencer sleeps on.
      for_the_sequencer = look_again_ || !queue_.empty() || !tasks_.empty();
    }
    if (for_the_sequencer) wake_.notify_one();
  };
  // An event that finds the pipeline idle (no other being checked, queued or appended) is
  // checked here, on the caller's thread, and if the pipeline is still idle then, appended here
  // as well: handing it to the pool, to the sequencer and back is a wake-up each (about 30 µs)
  // that an agent appending alone waits through on every append. Under load the pool and the
  // sequencer take it, so that callers' threads (the server's connections) stay free to read and
  // answer others.
  if (!alone) {
    std::lock_guard<std::mutex> lock(mu_);
    // Stop() sets refusing_ under mu_ and then joins the pool, and work posted after the join
    // never runs (nor would Stop() return, waiting for its check): an event accepted before
    // refusing_ was set is posted only while it is still unset, and otherwise checked here.
    if (!refusing_) {
      boost::asio::post(*verifiers_, std::move(work));
      return;
    }
  }
  work();
}

bool AppendPipeline::StillAloneLocked() const {
  // checks_ == 1: this event's own check. A ledger that stopped taking appends is left to the
  // sequencer, which asks it to resume.
  return checks_ == 1 && queue_.empty() && tasks_.empty() && !sequencing_ && !stopping_ &&
         ledger_.Writable().ok();
}

void AppendPipeline::CheckDone() {
  std::lock_guard<std::mutex> lock(mu_);
  CheckDoneLocked();
}

void AppendPipeline::CheckDoneLocked() {
  if (--checks_ == 0 && refusing_) checks_done_.notify_all();
}

void AppendPipeline::RunInSequence(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!sequencer_done_) {
      tasks_.push_back(std::move(task));
      wake_.notify_one();
      return;
    }
  }
  // The sequencer has finished (a stopping server still answering a late request): nothing
  // appends any more, so the task runs here; queued, it would never run and its client would
  // wait forever (and the server with it).
  RunGuarded("a task in sequence", task);
}

void AppendPipeline::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      refusing_ = true;
    }
    verifiers_->join();
    {
      // Every accepted event is now queued or answered, those checked on callers' threads too.
      std::unique_lock<std::mutex> lock(mu_);
      checks_done_.wait(lock, [this] { return checks_ == 0; });
      stopping_ = true;
    }
    wake_.notify_one();
    sequencer_.join();
  });
}

void AppendPipeline::SequencerLoop() {
  for (;;) {
    std::vector<Waiting> batch;
    std::deque<std::function<void()>> tasks;
    // Out of space or cut off from its database, the sequencer wakes on its own to try again: no
    // append may come (the routes refuse them while the ledger does), yet /readyz must turn ready
    // once space is freed or the database answers.
    const StatusCode stopped = ledger_.Writable().code();
    const bool waiting_out = stopped == StatusCode::kNoSpace || stopped == StatusCode::kUnavailable;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Not while a caller's thread appends: one batch at a time, and tasks between batches.
      auto work = [this] {
        return stopping_ || look_again_ ||
               (!appending_here_ && (!queue_.empty() || !tasks_.empty()));
      };
      if (waiting_out) {
        wake_.wait_for(lock, kResumeEvery, work);
      } else {
        wake_.wait(lock, work);
      }
      // Woken by the timeout while a caller's thread appends: its batch goes first.
      if (appending_here_) continue;
      look_again_ = false;
      tasks.swap(tasks_);
      const size_t take = std::min(queue_.size(), options_.max_batch);
      batch.reserve(take);
      for (size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      sequencing_ = !batch.empty();
      if (batch.empty() && tasks.empty() && stopping_) {
        sequencer_done_ = true;
        return;
      }
    }
    for (auto& task : tasks) RunGuarded("a task in sequence", task);
    if (waiting_out) ResumeAfterStop();
    if (!batch.empty()) AppendAndAnswer(batch);
  }
}

void AppendPipeline::AppendAndAnswer(std::vector<Waiting>& batch) {
  std::vector<CheckedEvent> events;
  events.reserve(batch.size());
  for (Waiting& w : batch) events.push_back(std::move(w.event));
  const bool was_writable = ledger_.Writable().ok();
  const auto start = std::chrono::steady_clock::now();
  std::vector<Result<Receipt>> receipts = ledger_.AppendBatch(std::move(events));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (metrics_) metrics_->BatchCommitted(batch.size(), seconds);
  if (options_.committed) options_.committed(ledger_.size());
  if (Status now = ledger_.Writable(); was_writable && !now.ok()) {
    spdlog::error("appends stopped: {}", now.message());
  }
  {
    // Before the answers: an agent answered submits its next event at once, and should find the
    // pipeline idle.
    std::lock_guard<std::mutex> lock(mu_);
    sequencing_ = false;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    RunGuarded("an append's callback", [&] { batch[i].done(std::move(receipts[i])); });
  }
}

void AppendPipeline::ResumeAfterStop() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_resume_) return;
  next_resume_ = now + kResumeEvery;
  const StatusCode stopped_by = ledger_.Writable().code();
  const Status resumed = ledger_.Resume();
  if (resumed.ok()) {
    spdlog::info("{}: appends resume at record {}",
                 stopped_by == StatusCode::kNoSpace ? "the ledger's disk has space again"
                                                    : "the ledger's database answers again",
                 ledger_.size());
  } else if (resumed.code() != StatusCode::kNoSpace &&
             resumed.code() != StatusCode::kUnavailable) {
    spdlog::error("appends stopped: {}", resumed.message());
  }
}

}  // namespace shiplog::adapters
