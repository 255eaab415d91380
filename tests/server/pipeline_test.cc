// AppendPipeline in this process, on a real ledger: where an event's signature is checked (a lone
// event on the thread that submits it, others on the pool), and that Stop() answers an event
// checked on a submitting thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "adapters/pipeline.h"
#include "tests/ledger/test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::CheckedEvent;
using shiplog::Receipt;
using shiplog::Result;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::Status;
using shiplog::StatusCode;
using shiplog::adapters::AppendPipeline;
using namespace std::chrono_literals;

// A gate a thread waits at until the test opens it.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.Create();
    t_.Enroll("leon", leon_);
    AppendPipeline::Options options;
    options.verify_threads = 2;
    pipeline_ = std::make_unique<AppendPipeline>(*t_.ledger, options, nullptr);
  }
  void TearDown() override {
    if (pipeline_) pipeline_->Stop();
  }

  SignedEvent Step(const std::string& step) {
    return SignJson(StepStartedJson("leon", step), leon_);
  }

  // Submits `event`; the future holds its answer. `admit` runs where the check ran.
  std::future<Result<Receipt>> Submit(SignedEvent event, AppendPipeline::Admit admit = nullptr) {
    auto answer = std::make_shared<std::promise<Result<Receipt>>>();
    std::future<Result<Receipt>> answered = answer->get_future();
    pipeline_->Submit(
        std::move(event), [answer](Result<Receipt> receipt) { answer->set_value(receipt); },
        std::move(admit));
    return answered;
  }

  // An admit that notes the thread it ran on.
  static AppendPipeline::Admit NoteThread(std::thread::id* ran_on) {
    return [ran_on](const CheckedEvent&) {
      *ran_on = std::this_thread::get_id();
      return Status::Ok();
    };
  }

  // An admit that says it started, then waits at `latch`.
  static AppendPipeline::Admit HoldAt(std::promise<void>* started, Latch* latch) {
    return [started, latch](const CheckedEvent&) {
      started->set_value();
      latch->Wait();
      return Status::Ok();
    };
  }

  TestLedger t_;
  SigningKey leon_ = SigningKey::Generate();
  std::unique_ptr<AppendPipeline> pipeline_;
};

TEST_F(PipelineTest, ALoneEventIsCheckedOnTheSubmittingThread) {
  std::thread::id ran_on;
  auto answer = Submit(Step("build"), NoteThread(&ran_on));
  ASSERT_EQ(answer.wait_for(30s), std::future_status::ready);
  ASSERT_OK(answer.get());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(PipelineTest, ALoneEventIsAppendedAndAnsweredOnTheSubmittingThread) {
  const uint64_t before = t_.ledger->size();
  std::thread::id answered_on;
  bool answered_before_submit_returned = false;
  bool returned = false;
  pipeline_->Submit(Step("build"), [&](Result<Receipt> receipt) {
    ASSERT_OK(receipt);
    answered_on = std::this_thread::get_id();
    answered_before_submit_returned = !returned;
  });
  returned = true;
  EXPECT_TRUE(answered_before_submit_returned);
  EXPECT_EQ(answered_on, std::this_thread::get_id());
  EXPECT_EQ(t_.ledger->size(), before + 1);
}

TEST_F(PipelineTest, NothingRunsInSequenceWhileACallersThreadAppends) {
  // The lone event is appended on the submitter's thread, which then waits at the latch inside
  // its answer: that batch is not over, so a task in sequence and a second event wait for it.
  std::promise<void> answering;
  Latch latch;
  std::optional<Result<Receipt>> first;
  std::thread submitter([&] {
    pipeline_->Submit(Step("build"), [&](Result<Receipt> receipt) {
      first = std::move(receipt);
      answering.set_value();
      latch.Wait();
    });
  });
  answering.get_future().wait();
  std::atomic<bool> task_ran{false};
  std::promise<void> task_done;
  pipeline_->RunInSequence([&] {
    task_ran = true;
    task_done.set_value();
  });
  auto second = Submit(Step("staging"));
  const bool second_meanwhile = second.wait_for(500ms) == std::future_status::ready;
  const bool task_meanwhile = task_ran.load();
  latch.Open();
  submitter.join();
  EXPECT_FALSE(task_meanwhile) << "a task ran in sequence in the middle of a batch";
  EXPECT_FALSE(second_meanwhile) << "a second batch was appended in the middle of the first";
  ASSERT_EQ(task_done.get_future().wait_for(30s), std::future_status::ready);
  ASSERT_EQ(second.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(first.has_value());
  ASSERT_OK(*first);
  Result<Receipt> later = second.get();
  ASSERT_OK(later);
  EXPECT_EQ(later->seq, (*first)->seq + 1);
}

TEST_F(PipelineTest, WithACheckUnderWayTheNextGoesToThePool) {
  // The first event is alone, so it is checked on the thread that submits it, which waits at
  // the latch inside the check.
  std::promise<void> first_started;
  Latch latch;
  std::future<Result<Receipt>> first;
  std::thread submitter([&] { first = Submit(Step("build"), HoldAt(&first_started, &latch)); });
  first_started.get_future().wait();

  std::thread::id ran_on;
  auto second = Submit(Step("staging"), NoteThread(&ran_on));
  const bool answered_meanwhile = second.wait_for(30s) == std::future_status::ready;
  const std::thread::id submitter_id = submitter.get_id();
  latch.Open();
  submitter.join();
  EXPECT_TRUE(answered_meanwhile) << "the pool checks it while the first is held";
  ASSERT_OK(second.get());
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_NE(ran_on, submitter_id);
  ASSERT_OK(first.get());
}

TEST_F(PipelineTest, StopAnswersAnEventCheckedOnTheSubmittingThread) {
  std::promise<void> held_started;
  Latch latch;
  std::future<Result<Receipt>> held;
  std::thread submitter([&] { held = Submit(Step("build"), HoldAt(&held_started, &latch)); });
  held_started.get_future().wait();

  auto stopped = std::async(std::launch::async, [&] { pipeline_->Stop(); });
  // Stop() has begun once a submission is refused as the server shutting down; until then a
  // probe with a bad signature is refused for that.
  for (;;) {
    SignedEvent probe = Step("probe");
    probe.signature[0] ^= 1;
    Result<Receipt> refused = Submit(probe).get();
    ASSERT_FALSE(refused.ok());
    if (refused.status().code() == StatusCode::kInternal) break;
    ASSERT_EQ(refused.status().code(), StatusCode::kBadSignature) << refused.status().ToString();
  }
  // It must not end while the check is under way: the event would be queued after the sequencer
  // stopped, and never answered. (Half a second is ample for a Stop() that does not wait.)
  EXPECT_EQ(stopped.wait_for(500ms), std::future_status::timeout)
      << "Stop() returned with a check under way";
  latch.Open();
  submitter.join();
  const bool answered = held.wait_for(30s) == std::future_status::ready;
  stopped.get();
  ASSERT_TRUE(answered) << "Stop() must append what was checked before it";
  Result<Receipt> receipt = held.get();
  ASSERT_OK(receipt);
  EXPECT_EQ(t_.ledger->size(), receipt->seq + 1);
}

// A RocksDB store that fails its commits as a full disk does while `full` is set, and resumes
// once it is not.
class FullDiskStore final : public ForwardingStore {
 public:
  FullDiskStore(std::unique_ptr<shiplog::Store> inner, const std::atomic<bool>* full)
      : ForwardingStore(std::move(inner)), full_(full) {}
  Status Commit(const shiplog::StoreBatch& batch) override {
    if (*full_) return Status::NoSpace("No space left on device");
    return inner().Commit(batch);
  }
  Status Resume() override {
    return *full_ ? Status::NoSpace("No space left on device") : Status::Ok();
  }

 private:
  const std::atomic<bool>* full_;
};

TEST(PipelineOnAFullDisk, AFailedAppendOnTheCallersThreadIsResumedByTheSequencer) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  SigningKey ledger_key = SigningKey::Generate();
  SigningKey admin = SigningKey::Generate();
  SigningKey leon = SigningKey::Generate();
  std::atomic<bool> full{false};
  auto ledger =
      OpenWrappedLedger<FullDiskStore>(tmp.Path("db"), std::move(ledger_key), admin, &clock, &full);
  ASSERT_OK(ledger->Append(
      SignJson(KeyEnrolledJson("admin", "leon", leon.PublicKey(), {"deployer"}), admin)));
  AppendPipeline pipeline(*ledger, AppendPipeline::Options{}, nullptr);

  // The pipeline is idle, so the event is appended on this thread, and the disk is full.
  full = true;
  std::optional<Result<Receipt>> refused;
  pipeline.Submit(SignJson(StepStartedJson("leon", "build"), leon),
                  [&](Result<Receipt> receipt) { refused = std::move(receipt); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_CODE(*refused, StatusCode::kNoSpace);
  EXPECT_CODE(ledger->Writable(), StatusCode::kNoSpace);

  // Space is freed: the sequencer, which asks the ledger to resume, must have seen it stop.
  full = false;
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (!ledger->Writable().ok() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_OK(ledger->Writable());
  std::promise<Result<Receipt>> taken;
  pipeline.Submit(SignJson(StepStartedJson("leon", "build"), leon),
                  [&](Result<Receipt> receipt) { taken.set_value(std::move(receipt)); });
  auto answer = taken.get_future();
  ASSERT_EQ(answer.wait_for(30s), std::future_status::ready);
  ASSERT_OK(answer.get());
  pipeline.Stop();
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
