// The live feed of records: GET /v1/stream, Server-Sent Events (text/event-stream) for the
// console's list and anyone who follows the ledger as it grows.
//
//   GET /v1/stream[?from=SEQ]   a signed read; from: the first record to send (default: only
//                               records appended after the request)
//
// Each record the reader may see is one event, id the record's seq:
//
//   id: 42
//   event: record
//   data: {"seq": 42, "ledger_time", "kind", "deployment", "actor", "denied"}
//
// and a ": keep-alive" comment when nothing was appended for a heartbeat, so proxies keep the
// connection and the client knows it is alive. A client that reconnects sends Last-Event-ID (or
// ?from=) and misses nothing. The stream ends when the server stops.
//
// Waiting holds no thread: a connection waiting for records is a callback in EventFeed, woken by
// the sequencer's commit; reading and sending the records then runs on the reader pool. Records
// other servers of a shared database append are seen at the next heartbeat.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "adapters/routes.h"

namespace shiplog::adapters {

// Who waits for the ledger to grow, and wakes them.
class EventFeed {
 public:
  enum class Wake { kRecords, kHeartbeat, kClosed };

  // `size`: the ledger's records now.
  EventFeed(uint64_t size, std::chrono::milliseconds heartbeat);
  ~EventFeed();  // Close()
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  // After a commit: the ledger holds `size` records.
  void Committed(uint64_t size);
  // Calls `wake` once: kRecords as soon as the ledger holds more than `seen` records (at once when
  // it does already), kHeartbeat when a heartbeat passes with none, kClosed on Close() (at once
  // after it). It runs on the committing thread or the feed's own: it must hand any real work
  // elsewhere.
  void Wait(uint64_t seen, std::function<void(Wake)> wake);
  // Wakes every waiter with kClosed; later waits get kClosed at once.
  void Close();

 private:
  struct Waiter {
    uint64_t seen;
    std::function<void(Wake)> wake;
  };
  void HeartbeatLoop();

  const std::chrono::milliseconds heartbeat_;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t size_;        // GUARDED_BY(mu_)
  bool closed_ = false;  // GUARDED_BY(mu_)
  // By when each is due a heartbeat; a multimap keeps the earliest first.
  std::multimap<std::chrono::steady_clock::time_point, Waiter> waiters_;  // GUARDED_BY(mu_)
  std::thread heartbeats_;
};

// Answers GET /v1/stream; false for any other path.
bool RouteStream(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters
