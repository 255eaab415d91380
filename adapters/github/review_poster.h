// ReviewPoster: answers GitHub's deployment protection rules in the background.
//
// The webhook is answered as soon as the decision is durable; the review (approve or reject) is
// posted here, by one worker thread, with retries: a network error, a 5xx or a 429 from GitHub
// is tried again after an exponentially growing pause (first_retry, doubling, at most max_retry),
// up to max_attempts, then given up with a loud log line naming the delivery (GitHub's
// "Redeliver" button sends the delivery again, and shiplog re-posts the decision it recorded).
// A refusal that will not change (403, 404, 422; a 401 after a fresh token) is given up at once,
// as loudly. What is
// posted is only ever the review it was handed: an outage delays a decision, never changes it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "adapters/github/github_api.h"

namespace shiplog::adapters::github {

// One review to post: `body` ({"environment_name", "state", "comment"}) to `target` under the
// API (the delivery's deployment_callback_url), as installation `installation_id`.
struct Review {
  std::string delivery;  // X-GitHub-Delivery, for the logs
  std::string target;
  int64_t installation_id = 0;
  nlohmann::json body;
};

class ReviewPoster {
 public:
  struct Options {
    std::chrono::milliseconds first_retry{1000};
    std::chrono::milliseconds max_retry{5 * 60 * 1000};
    int max_attempts = 20;  // with the defaults, about an hour and a quarter of trying
  };
  struct Counts {
    uint64_t posted = 0;    // reviews GitHub took (2xx)
    uint64_t retried = 0;   // attempts that failed and were scheduled again
    uint64_t given_up = 0;  // reviews never posted
    uint64_t pending = 0;   // waiting now
  };

  ReviewPoster(InstallationTokens& tokens, Options options);
  ~ReviewPoster();  // Stop()
  ReviewPoster(const ReviewPoster&) = delete;
  ReviewPoster& operator=(const ReviewPoster&) = delete;

  // Queues `review`; returns at once.
  void Post(Review review);
  // Stops the worker after the attempt in flight; every review not posted is logged as given up.
  void Stop();
  Counts counts() const;

 private:
  struct Pending {
    Review review;
    int attempts = 0;
    std::chrono::steady_clock::time_point due;
  };
  void Loop();
  // One attempt; true when done with it (posted, or refused for good).
  bool Attempt(Pending& pending);
  std::chrono::milliseconds Pause(int attempts) const;

  InstallationTokens& tokens_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  Counts counts_;              // GUARDED_BY(mu_), but for pending (queue_.size())
  std::once_flag stop_once_;
  std::thread worker_;
};

}  // namespace shiplog::adapters::github
