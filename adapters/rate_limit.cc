#include "adapters/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "adapters/github/protection_rule.h"
#include "adapters/integration.h"
#include "adapters/server.h"

namespace shiplog::adapters {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

// A bucket's tokens at `now`: what it held, refilled for the time since, at most `burst`.
double TokensAt(double tokens, TimePoint last, TimePoint now, BucketLimit limit) {
  const double elapsed = std::chrono::duration<double>(now - last).count();
  return std::min(limit.burst, tokens + std::max(0.0, elapsed) * limit.rate);
}

RateLimiter::Verdict Refused(double tokens, BucketLimit limit) {
  const double wait = (1.0 - tokens) / limit.rate;
  return {false, std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)))};
}

}  // namespace

RateLimiter::RateLimiter(size_t max_keys, Clock clock)
    : max_per_shard_(std::max<size_t>(1, max_keys / kShards)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

RateLimiter::Shard& RateLimiter::ShardOf(const std::string& key) {
  return shards_[std::hash<std::string>()(key) % kShards];
}

RateLimiter::Verdict RateLimiter::TryTake(const std::string& key, BucketLimit limit) {
  if (limit.unlimited()) return {};
  const TimePoint now = clock_();
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    // Full of buckets in use: a new key waits until some refill (seconds, at any sane rate).
    if (shard.buckets.size() >= max_per_shard_ && !MakeRoom(shard, now, limit)) return {false, 1};
    it = shard.buckets.emplace(key, Bucket{limit.burst, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = TokensAt(bucket.tokens, bucket.last, now, limit);
  bucket.last = now;
  if (bucket.tokens < 1.0) return Refused(bucket.tokens, limit);
  bucket.tokens -= 1.0;
  return {};
}

RateLimiter::Verdict RateLimiter::Peek(const std::string& key, BucketLimit limit) {
  if (limit.unlimited()) return {};
  const TimePoint now = clock_();
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) return {};  // no bucket: a full one
  const double tokens = TokensAt(it->second.tokens, it->second.last, now, limit);
  if (tokens < 1.0) return Refused(tokens, limit);
  return {};
}

// Drops the buckets that refilled (the same as no bucket). Buckets still short of tokens are
// kept even at the bound: dropping one would hand its key a full burst, which is what a flood
// of new keys would then be for.
bool RateLimiter::MakeRoom(Shard& shard, TimePoint now, BucketLimit limit) {
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    if (TokensAt(it->second.tokens, it->second.last, now, limit) >= limit.burst) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  return shard.buckets.size() < max_per_shard_;
}

size_t RateLimiter::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace shiplog::adapters

namespace shiplog::adapters {
namespace {

BucketLimit BucketOf(const policy::RateLimit& limit) { return {limit.rate, limit.burst}; }

std::string Rate(const policy::RateLimit& limit) {
  std::ostringstream out;
  out << limit.rate << " requests/s, burst " << limit.burst;
  return out.str();
}

// The 429: which limit (`what`), its rate, and when to come back; counted by `scope`.
Response TooMany(ServerState& state, const char* scope, const std::string& what,
                 const policy::RateLimit& limit, int64_t retry_after) {
  state.metrics.RateLimited(scope);
  Response r = ErrorResponse(429, "rate_limited",
                             "rate limited by the " + what + " limit (" + Rate(limit) +
                                 "); retry after " + std::to_string(retry_after) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  r.log_note = std::string("rate limited: ") + scope;
  return r;
}

bool Exempt(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics" ||
         path == github::kProtectionRulePath || path == "/v1/admission" ||
         path.rfind("/v1/admission/", 0) == 0 || path.rfind("/v1/argo/", 0) == 0;
}

// The limits in force: the policy's (no copy, the pointer keeps them), or the defaults while the
// ledger enforces no policy.
const policy::Limits& LimitsIn(const std::shared_ptr<const policy::Policy>& policy) {
  static const policy::Limits kDefaults;
  return policy ? policy->limits : kDefaults;
}

}  // namespace

std::optional<Response> LimitConnection(ServerState& state, const Request& request) {
  if (Exempt(request.path)) return std::nullopt;
  const policy::RateLimit limit = LimitsIn(PolicyInForce(state)).connection;
  const auto verdict = state.connection_limits.TryTake(request.remote_address, BucketOf(limit));
  if (verdict.allowed) return std::nullopt;
  return TooMany(state, "connection", "connection (client address " + request.remote_address + ")",
                 limit, verdict.retry_after_seconds);
}

std::optional<Response> PeekKey(ServerState& state, const std::string& keyid) {
  std::optional<KeyInfo> key = state.ledger.KeyByKeyId(keyid);
  if (!key) return std::nullopt;
  const policy::RateLimit limit = LimitsIn(PolicyInForce(state)).ForRoles(key->roles);
  const auto verdict = state.key_limits.Peek(keyid, BucketOf(limit));
  if (verdict.allowed) return std::nullopt;
  return TooMany(state, "key", "key '" + key->name + "'", limit, verdict.retry_after_seconds);
}

std::optional<Response> TakeKey(ServerState& state, const std::string& keyid, const KeyInfo& key) {
  const policy::RateLimit limit = LimitsIn(PolicyInForce(state)).ForRoles(key.roles);
  const auto verdict = state.key_limits.TryTake(keyid, BucketOf(limit));
  if (verdict.allowed) return std::nullopt;
  return TooMany(state, "key", "key '" + key.name + "'", limit, verdict.retry_after_seconds);
}

}  // namespace shiplog::adapters
