// RateLimiter's buckets with a clock the test moves: refill, burst, Retry-After, Peek taking
// nothing, the bound on buckets held, and many threads taking from one bucket.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "adapters/rate_limit.h"

namespace shiplog::adapters {
namespace {
namespace SHIPLOG_THIS_FILE {

using namespace std::chrono_literals;

class TokenBucketTest : public ::testing::Test {
 protected:
  RateLimiter::Clock clock() {
    return [this] { return std::chrono::steady_clock::time_point(now_.load()); };
  }
  void Advance(std::chrono::steady_clock::duration d) { now_ = now_.load() + d; }

  std::atomic<std::chrono::steady_clock::duration> now_{std::chrono::hours(1)};
};

TEST_F(TokenBucketTest, BurstThenRefillAtTheRate) {
  RateLimiter limiter(1000, clock());
  const BucketLimit limit{2, 3};  // 2 per second, 3 at once
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryTake("a", limit).allowed) << i;
  RateLimiter::Verdict refused = limiter.TryTake("a", limit);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);  // 0.5 s, rounded up to a whole second
  Advance(499ms);
  EXPECT_FALSE(limiter.TryTake("a", limit).allowed);
  Advance(2ms);
  EXPECT_TRUE(limiter.TryTake("a", limit).allowed);
  EXPECT_FALSE(limiter.TryTake("a", limit).allowed);
  // Another key has its own bucket.
  EXPECT_TRUE(limiter.TryTake("b", limit).allowed);
  // A long pause refills to the burst, not past it.
  Advance(1h);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryTake("a", limit).allowed) << i;
  EXPECT_FALSE(limiter.TryTake("a", limit).allowed);
}

TEST_F(TokenBucketTest, RetryAfterIsTheWaitForOneTokenInWholeSeconds) {
  RateLimiter limiter(1000, clock());
  const BucketLimit slow{0.25, 1};  // one per 4 s
  EXPECT_TRUE(limiter.TryTake("a", slow).allowed);
  EXPECT_EQ(limiter.TryTake("a", slow).retry_after_seconds, 4);
  Advance(1500ms);
  EXPECT_EQ(limiter.TryTake("a", slow).retry_after_seconds, 3);  // 2.5 s left
  Advance(2500ms);
  EXPECT_TRUE(limiter.TryTake("a", slow).allowed);
}

TEST_F(TokenBucketTest, PeekTakesNothingAndCreatesNothing) {
  RateLimiter limiter(1000, clock());
  const BucketLimit limit{1, 2};
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Peek("victim", limit).allowed);
  EXPECT_EQ(limiter.size(), 0u);
  EXPECT_TRUE(limiter.TryTake("victim", limit).allowed);
  EXPECT_TRUE(limiter.TryTake("victim", limit).allowed);
  RateLimiter::Verdict peeked = limiter.Peek("victim", limit);
  EXPECT_FALSE(peeked.allowed);
  EXPECT_EQ(peeked.retry_after_seconds, 1);
  Advance(1s);
  EXPECT_TRUE(limiter.Peek("victim", limit).allowed);
  EXPECT_TRUE(limiter.TryTake("victim", limit).allowed);
}

TEST_F(TokenBucketTest, UnlimitedNeverRefusesAndHoldsNoBucket) {
  RateLimiter limiter(1000, clock());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.TryTake("a", BucketLimit{}).allowed);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST_F(TokenBucketTest, AFloodOfKeysStaysWithinTheBoundAndKeepsBusyBuckets) {
  RateLimiter limiter(160, clock());  // 10 per shard
  const BucketLimit limit{1, 2};
  // A drained bucket that is in use, then a flood of made-up keys taking one token each.
  EXPECT_TRUE(limiter.TryTake("runaway", limit).allowed);
  EXPECT_TRUE(limiter.TryTake("runaway", limit).allowed);
  int refused = 0;
  for (int i = 0; i < 100000; ++i) {
    refused += limiter.TryTake("made-up-" + std::to_string(i), limit).allowed ? 0 : 1;
    if (i % 1000 == 0) {
      EXPECT_FALSE(limiter.TryTake("runaway", limit).allowed) << i;
    }
  }
  EXPECT_LE(limiter.size(), 160u);
  EXPECT_GT(refused, 99000);  // new keys wait while every bucket is in use
  // Buckets that refilled are dropped to make room: after a pause new keys are served again.
  Advance(10s);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.TryTake("later-" + std::to_string(i), limit).allowed) << i;
    Advance(1s);
  }
  EXPECT_LE(limiter.size(), 160u);
}

TEST_F(TokenBucketTest, ThreadsTakingFromOneBucketNeverGetMoreThanItHolds) {
  RateLimiter limiter(1000, clock());
  const BucketLimit limit{1, 500};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) allowed += limiter.TryTake("shared", limit).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 500);  // the clock stands still: exactly the burst
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::adapters
