// RateLimiter: token buckets by a string key (a client address, an enrolled key's id), so one
// runaway agent cannot starve the others (the policy's limits: section, policy/policy.h).
//
// Each bucket holds up to `burst` tokens and refills at `rate` tokens per second; a request takes
// one. The limit is given with every call (it comes from the policy in force and the key's
// roles), so a policy activated later applies at once. Memory is bounded: at most `max_keys`
// buckets exist; a bucket that has refilled is the same as no bucket and is dropped when room is
// needed, and while every bucket is in use a new key is refused (retry after 1 s) rather than an
// old one forgotten, so a flood of new keys can neither grow the map nor reset a runaway's bucket.
// Thread-safe: the buckets are spread over shards, each with its own mutex.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "adapters/http.h"
#include "ledger/key_registry.h"
#include "policy/policy.h"

namespace shiplog::adapters {

// Tokens per second and the most a bucket holds. rate 0 means no limit (the policy's `off`).
struct BucketLimit {
  double rate = 0;
  double burst = 0;
  bool unlimited() const { return rate <= 0; }
};

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // What a bucket answered: allowed, or the whole seconds (at least 1) until a token is there,
  // for Retry-After.
  struct Verdict {
    bool allowed = true;
    int64_t retry_after_seconds = 0;
  };

  explicit RateLimiter(size_t max_keys = 100000, Clock clock = nullptr);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes a token from `key`'s bucket if one is there.
  Verdict TryTake(const std::string& key, BucketLimit limit);
  // Whether `key`'s bucket has a token, taking none and creating no bucket: for a key a request
  // claims but has not proven, whose bucket a forger must not be able to drain or fill.
  Verdict Peek(const std::string& key, BucketLimit limit);

  size_t size() const;  // buckets held, for tests

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;  // when `tokens` was computed
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 16;

  Shard& ShardOf(const std::string& key);
  // Makes room in `shard` (locked) for one more bucket; false when every bucket is in use.
  bool MakeRoom(Shard& shard, std::chrono::steady_clock::time_point now, BucketLimit limit);

  const size_t max_per_shard_;
  const Clock clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace shiplog::adapters

// -- the server's use of it (policy limits:, adapters/server.h) --

namespace shiplog::adapters {

struct ServerState;  // adapters/server.h

// The per-address check every request passes first, before any signature work; a 429 to send,
// or nothing. Health probes, /metrics and the integrations' routes (Kubernetes admission, GitHub,
// Argo) are exempt: their callers are the platform's own, and a 429 there would fail a deploy
// or (failurePolicy Ignore) let one through unguarded because some agent on the same host ran
// away.
std::optional<Response> LimitConnection(ServerState& state, const Request& request);

// The per-key check of a key a request claims (by its id, dsse::KeyId) but has not proven yet:
// a 429 when its bucket is empty; takes nothing, so a forger cannot drain it. Nothing for a key
// that is not enrolled (its signature check refuses it).
std::optional<Response> PeekKey(ServerState& state, const std::string& keyid);
// After `key`'s signature verified: takes a token from its bucket, or a 429.
std::optional<Response> TakeKey(ServerState& state, const std::string& keyid, const KeyInfo& key);

}  // namespace shiplog::adapters
