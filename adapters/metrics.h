// Metrics: what the server counts, exposed at /metrics in Prometheus' text format.
//
// Cheap to update from any thread (atomics; a mutex only for the per-rule denial counts).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace shiplog::adapters {

// A cumulative histogram with fixed upper bounds, as Prometheus reads one.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // The histogram's lines for metric `name` (with _bucket, _sum and _count).
  std::string Render(const std::string& name, const std::string& help) const;
  uint64_t count() const { return count_.load(); }

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<uint64_t>> counts_;  // one per bound, plus +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Metrics {
 public:
  Metrics();

  // One batch of `size` events committed by the sequencer in `seconds`.
  void BatchCommitted(size_t size, double seconds);
  // One submitted event answered: stored (and whether the policy denied it, with its rules) or
  // refused; `seconds` from the request's arrival to the answer.
  void Appended(bool denied, const std::vector<std::string>& rules, double seconds);
  void Refused();
  // A read refused by the read-access check (adapters/read_access.h), by reason; one accepted.
  void ReadRefused(const std::string& reason);
  void ReadSigned() { ++reads_signed_; }
  // A request answered 429 by a rate limit (adapters/rate_limit.h): scope connection or key.
  void RateLimited(const std::string& scope);
  void Request(int status);
  void ConnectionOpened() { ++open_connections_; }
  void ConnectionClosed() { --open_connections_; }
  int64_t open_connections() const { return open_connections_.load(); }
  uint64_t batches() const { return batch_size_.count(); }  // group commits, one fsync each

  std::string Render() const;

 private:
  std::atomic<uint64_t> appends_{0};
  std::atomic<uint64_t> denials_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<int64_t> open_connections_{0};
  std::atomic<uint64_t> reads_signed_{0};
  Histogram append_latency_;
  Histogram batch_size_;
  Histogram commit_seconds_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> denials_by_rule_;  // GUARDED_BY(mu_)
  std::map<int, uint64_t> responses_;                // GUARDED_BY(mu_): by HTTP status
  std::map<std::string, uint64_t> reads_refused_;    // GUARDED_BY(mu_): by reason
  std::map<std::string, uint64_t> rate_limited_;     // GUARDED_BY(mu_): by scope
};

}  // namespace shiplog::adapters
