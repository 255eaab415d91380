#include "adapters/github/review_poster.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace shiplog::adapters::github {

using SteadyClock = std::chrono::steady_clock;

ReviewPoster::ReviewPoster(InstallationTokens& tokens, Options options)
    : tokens_(tokens), options_(options), worker_([this] { Loop(); }) {}

ReviewPoster::~ReviewPoster() { Stop(); }

void ReviewPoster::Post(Review review) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    ++counts_.given_up;
    spdlog::error(
        "GitHub review for delivery {} NOT POSTED: the server is stopping; redeliver it "
        "from the App's advanced settings once shiplog is back",
        review.delivery);
    return;
  }
  queue_.push_back(Pending{std::move(review), 0, SteadyClock::now()});
  wake_.notify_one();
}

void ReviewPoster::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (worker_.joinable()) worker_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (const Pending& p : queue_) {
      ++counts_.given_up;
      spdlog::error(
          "GitHub review for delivery {} NOT POSTED ({} attempts): the server stopped; "
          "redeliver it from the App's advanced settings once shiplog is back",
          p.review.delivery, p.attempts);
    }
    queue_.clear();
  });
}

ReviewPoster::Counts ReviewPoster::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counts out = counts_;
  out.pending = queue_.size();
  return out;
}

// The worker takes the review due first, tries it without holding the lock, and puts it back
// with a later due time when it should be tried again.
void ReviewPoster::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto next = std::min_element(queue_.begin(), queue_.end(),
                                 [](const Pending& a, const Pending& b) { return a.due < b.due; });
    if (next->due > SteadyClock::now()) {
      wake_.wait_until(lock, next->due);
      continue;
    }
    Pending pending = std::move(*next);
    queue_.erase(next);
    lock.unlock();
    const bool done = Attempt(pending);
    lock.lock();
    if (!done) {
      ++counts_.retried;
      queue_.push_back(std::move(pending));
    }
  }
}

bool ReviewPoster::Attempt(Pending& pending) {
  const Review& review = pending.review;
  ++pending.attempts;
  auto token = tokens_.Get(review.installation_id);
  Status status = token.status();
  if (token.ok()) {
    auto reply = PostJson(tokens_.api(), review.target, *token, review.body);
    status = reply.status();
  }
  // A cached token GitHub no longer takes (revoked early) is minted afresh, once.
  const bool stale_token = status.code() == StatusCode::kUnknownKey && token.ok();
  if (stale_token) tokens_.Forget(review.installation_id);
  const std::string state = review.body.value("state", std::string("(no state)"));
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.posted;
    spdlog::info("GitHub review for delivery {} posted: {} (attempt {})", review.delivery, state,
                 pending.attempts);
    return true;
  }
  const bool retry = Retryable(status) || (stale_token && pending.attempts == 1);
  if (!retry || pending.attempts >= options_.max_attempts) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_.given_up;
    spdlog::error(
        "GitHub review for delivery {} ({}) NOT POSTED, given up after {} attempts: "
        "{}; the deployment waits at GitHub until the delivery is redelivered",
        review.delivery, state, pending.attempts, status.message());
    return true;
  }
  const auto pause = Pause(pending.attempts);
  spdlog::warn("GitHub review for delivery {} ({}) failed (attempt {}): {}; retrying in {} ms",
               review.delivery, state, pending.attempts, status.message(), pause.count());
  pending.due = SteadyClock::now() + pause;
  return false;
}

std::chrono::milliseconds ReviewPoster::Pause(int attempts) const {
  auto pause = options_.first_retry;
  for (int i = 1; i < attempts && pause < options_.max_retry; ++i) pause *= 2;
  return std::min(pause, options_.max_retry);
}

}  // namespace shiplog::adapters::github
