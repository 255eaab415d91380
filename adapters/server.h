// Server: `shiplog serve`, the network service agents and auditors talk to.
//
// HTTP/1.1 with keep-alive on Boost.Asio and Beast; JSON by default, Cap'n Proto bodies for
// agents that ask (adapters/routes.h lists the endpoints; docs in adapters/openapi.yaml).
// Appends go through the AppendPipeline (verification on a pool, group commit in one sequencer).
//
// Well-behaved under bad clients: limits on header and body size, on open connections (in all
// and per client address; at the limit, the longest-idle keep-alive connection is closed to make
// room), and on the time one request may take to arrive (a slow or stalled client gets its 408);
// a malformed request gets a 4xx and the server goes on. Heavy reads (timelines, replays,
// queries) run on a small reader pool, never on the I/O threads, so they cannot hold up /healthz
// or an append; when too many wait, a read gets 503 with Retry-After. An exception escaping a
// route, a callback or a stream's producer is answered 500 (or ends the stream with an error
// line), logged, and the server serves on. Stop() (SIGTERM in `shiplog serve`) stops accepting,
// answers what is in flight, closes idle connections and returns from Run().
//
// TLS (adapters/tls.h) on `listen`, plain HTTP only on `insecure_listen`; both may be served at
// once. The same connection code serves both (a session templated on its stream); a TLS
// handshake must finish within the request timeout. ReloadTls() (SIGHUP) hands new connections a
// context read afresh from the files, while open ones keep theirs.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/metrics.h"
#include "adapters/pipeline.h"
#include "adapters/rate_limit.h"
#include "adapters/read_access.h"
#include "adapters/tls.h"
#include "ledger/cosignature.h"
#include "ledger/ledger.h"
#include "policy/policy_gate.h"

namespace shiplog::adapters {

struct IntegrationSigner;  // adapters/integration.h
class EventFeed;          // adapters/event_feed.h
namespace github {
class GitHub;  // adapters/github/github.h
}

// The port `shiplog serve` listens on unless told otherwise.
constexpr uint16_t kDefaultPort = 7478;

struct ServerOptions {
  // HOST:PORT served over TLS with `tls`; "" for none. Port 0 picks a free one.
  std::string listen;
  // HOST:PORT served as plain HTTP, unencrypted and unauthenticated at the transport; "" for
  // none. At least one of `listen` and `insecure_listen` is given.
  std::string insecure_listen;
  TlsFiles tls;          // needed with `listen`
  std::string data_dir;  // the ledger's directory (replay's snapshots)
  size_t io_threads = 2;
  size_t verify_threads = DefaultVerifyThreads();  // adapters/pipeline.h
  size_t max_batch = 2048;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 256 * 1024;
  size_t max_connections = 1024;
  // From one client address. All tests and the benchmark (64 at once) come from 127.0.0.1.
  size_t max_connections_per_address = 256;
  size_t read_threads = 2;       // the reader pool's threads
  size_t max_queued_reads = 16;  // heavy reads running or waiting; more are answered 503
  std::chrono::milliseconds request_timeout{15000};  // for one request to arrive whole
  std::chrono::milliseconds idle_timeout{60000};     // a keep-alive connection with no request
  // The server's own signer for what the enforcement points record (adapters/integration.h);
  // null: those routes answer 503 where they would record.
  std::shared_ptr<const IntegrationSigner> integration;
  // The ledger's own key, which signs deploy-authorization attestations
  // (adapters/attestation_routes.h); null: that route answers 503.
  std::shared_ptr<const SigningKey> ledger_key;
  // GitHub's deployment protection rule (adapters/github/github.h): the App's credentials and
  // the review poster; null: the route answers 503 naming the options it needs.
  std::shared_ptr<github::GitHub> github;
  // Witnesses whose cosignatures POST /v1/checkpoint/cosignatures accepts (--witness-key).
  std::vector<WitnessKey> witness_keys;
  // How far a signed read's `created` and Date may be from the server's clock (--read-clock-skew);
  // its nonce is remembered that long (adapters/read_access.h).
  std::chrono::seconds read_clock_skew{300};
  // How often GET /v1/stream sends a keep-alive comment when nothing was appended.
  std::chrono::milliseconds feed_heartbeat{15000};
};

// Where heavy reads run: a few threads of their own and a bound on the reads running or waiting,
// so a flood of them is refused (503) instead of queued without end.
class ReaderPool {
 public:
  ReaderPool(size_t threads, size_t max_queued);
  ~ReaderPool();  // Stop()
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Runs `read` on a reader thread, counted against the bound; false (and `read` is dropped) when
  // the pool is full.
  bool TryRun(std::function<void()> read);
  // Runs `more` on a reader thread, not counted: the next piece of a read already admitted (a
  // stream's producer), which must not be refused halfway.
  void Continue(std::function<void()> more);
  // Waits for every read queued to finish.
  void Stop();

 private:
  boost::asio::thread_pool pool_;
  const size_t max_queued_;
  std::atomic<size_t> queued_{0};
};

// What every route can reach.
struct ServerState {
  Ledger& ledger;
  policy::PolicyGate* gate;  // null: the ledger enforces no policy
  AppendPipeline& pipeline;
  Metrics& metrics;
  ReaderPool& readers;
  const ServerOptions& options;
  EventFeed* feed = nullptr;  // GET /v1/stream's waiters (adapters/event_feed.h); null: none
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::string not_ready_reason = "verifying the ledger";  // set before ready, read after
  NonceCache read_nonces{};  // signed reads' nonces within the clock-skew window
  RateLimiter connection_limits{};  // by client address (adapters/rate_limit.h)
  RateLimiter key_limits{};         // by enrolled key's id
};

class Server {
 public:
  Server(Ledger& ledger, policy::PolicyGate* gate, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Reads the TLS files and binds the listening sockets; kInvalidArgument for a bad address, a
  // missing listener or unusable TLS files, kInternal when an address is taken.
  Status Listen();
  // The ports bound (after Listen): the TLS listener's and the plain one's; 0 for none.
  uint16_t port() const;
  uint16_t insecure_port() const;
  // Reads the TLS files into a new context for the connections to come (those open keep theirs);
  // on failure the context in use stays and the status says why. kFailedPrecondition without TLS.
  Status ReloadTls();
  // The certificate new TLS connections are shown (adapters/tls.h); "" without TLS.
  std::string TlsCertificate() const;
  // Serves until Stop(); runs the I/O threads and returns after they finished.
  void Run();
  // From any thread (or a signal handler's io callback): see the top of this file.
  void Stop();
  // /readyz answers 200 and appends are taken once this is set.
  void SetReady();

  Metrics& metrics() { return metrics_; }

 private:
  class Impl;
  Metrics metrics_;  // before impl_: the pipeline reports to it until it stops
  std::unique_ptr<Impl> impl_;
};

}  // namespace shiplog::adapters
