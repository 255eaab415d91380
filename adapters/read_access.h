// Read access: who may read what from `shiplog serve`.
//
// Every request passes one check in routing (CheckReadAccess, called by Route before any
// endpoint), so a route added later is signed-only by default. Routes fall into groups:
//
//   health   /healthz, /readyz           public unless the policy's reads.public leaves it out
//   metrics  /metrics                    likewise
//   proofs   /v1/checkpoint, /v1/proofs/*, /checkpoint, /tile/*   likewise (transparency)
//   own      POST /v1/events, /v1/check, the GitHub webhook, /v1/admission*, /v1/argo/*,
//            /v1/checkpoint/cosignatures: their own authentication (signed events, HMAC,
//            witness keys), untouched here
//   whoami   /v1/whoami                  any live enrolled key: its own name and roles
//   console  /ui/...                     public: the console's files, code that reads through
//                                        the signed API (adapters/console_routes.h)
//   records  everything else: a signed request (RFC 9421, adapters/http_signature.h) by a live
//            enrolled key whose roles' grants (policy reads:) cover it
//
// A refusal is 401 (no, malformed, stale, replayed or bad signature; unknown or revoked key)
// with WWW-Authenticate and Accept-Signature saying how to sign, or 403 (the key's roles may not
// read this); it names what was wrong with the signature and nothing of the data, and is counted
// in /metrics by reason.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/http.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

namespace shiplog::adapters {

struct ServerState;  // adapters/server.h

// Who signed a read, and what their roles let them read.
struct Reader {
  std::string name;
  std::string keyid;  // dsse::KeyId of the key
  std::vector<std::string> roles;
  policy::ReadScope scope;
};

// The nonces of signed reads seen within the clock-skew window, per key, so a captured request
// cannot be sent again. Bounded: a key that signs more reads within one window than the bound is
// refused until its oldest nonces expire (never forgotten early, which would let them replay).
class NonceCache {
 public:
  NonceCache() = default;
  explicit NonceCache(size_t max_per_key) : max_per_key_(max_per_key) {}

  enum class Outcome { kFresh, kReplayed, kFull };
  // Records `nonce` for `keyid` until unix time `expires` unless it is held already; drops the
  // key's nonces that expired by `now` first.
  Outcome Remember(const std::string& keyid, const std::string& nonce, int64_t now,
                   int64_t expires);

 private:
  struct Seen {
    std::set<std::string> nonces;
    std::multimap<int64_t, std::string> by_expiry;
  };
  const size_t max_per_key_ = 65536;
  std::mutex mu_;
  std::map<std::string, Seen> seen_;  // GUARDED_BY(mu_): by keyid
};

// What CheckReadAccess decided: a refusal to send, or the reader (null for an unsigned request
// to a public or self-authenticating route).
struct ReadAccessDecision {
  std::optional<Response> refusal;
  std::shared_ptr<const Reader> reader;
};

// The one check every request passes before its route (see the top of this file). Reads the
// key registry and, for a reader limited to some deployments, the indexes (a few point reads):
// cheap enough for the I/O thread, and never on the sequencer.
ReadAccessDecision CheckReadAccess(ServerState& state, const Request& request);

// Whether `reader` may see record `seq` (every record for a reader of everything; for one
// limited to some deployments, the records of those deployments only).
Result<bool> RecordVisible(const Ledger& ledger, const Reader& reader, uint64_t seq);

// GET /v1/whoami: the signer's name, roles and keyid, and what it may read.
Response WhoAmI(const Reader& reader);

}  // namespace shiplog::adapters
