#include "adapters/event_feed.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

#include "adapters/api_paths.h"
#include "adapters/read_access.h"
#include "adapters/server.h"

namespace shiplog::adapters {

EventFeed::EventFeed(uint64_t size, std::chrono::milliseconds heartbeat)
    : heartbeat_(heartbeat), size_(size), heartbeats_([this] { HeartbeatLoop(); }) {}

EventFeed::~EventFeed() {
  Close();
  heartbeats_.join();
}

void EventFeed::Committed(uint64_t size) {
  std::vector<std::function<void(Wake)>> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (size <= size_) return;
    size_ = size;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.seen < size_) {
        woken.push_back(std::move(it->second.wake));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& wake : woken) wake(Wake::kRecords);
}

void EventFeed::Wait(uint64_t seen, std::function<void(Wake)> wake) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_ || size_ > seen) {
    const Wake now = closed_ ? Wake::kClosed : Wake::kRecords;
    lock.unlock();
    return wake(now);
  }
  waiters_.emplace(std::chrono::steady_clock::now() + heartbeat_, Waiter{seen, std::move(wake)});
  changed_.notify_one();
}

void EventFeed::Close() {
  std::vector<std::function<void(Wake)>> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (auto& [due, waiter] : waiters_) woken.push_back(std::move(waiter.wake));
    waiters_.clear();
  }
  changed_.notify_one();
  for (auto& wake : woken) wake(Wake::kClosed);
}

void EventFeed::HeartbeatLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    if (waiters_.empty()) {
      changed_.wait(lock);
      continue;
    }
    // A copy: wait_until reads its deadline again after waking, and a commit may have erased
    // the waiter it belonged to meanwhile.
    const auto earliest = waiters_.begin()->first;
    changed_.wait_until(lock, earliest);
    std::vector<std::function<void(Wake)>> due;
    const auto now = std::chrono::steady_clock::now();
    while (!closed_ && !waiters_.empty() && waiters_.begin()->first <= now) {
      due.push_back(std::move(waiters_.begin()->second.wake));
      waiters_.erase(waiters_.begin());
    }
    lock.unlock();
    for (auto& wake : due) wake(Wake::kHeartbeat);
    lock.lock();
  }
}

namespace {

using nlohmann::json;
using FeedDone = std::function<void(std::string chunk, bool more)>;

// Records per chunk at most: a client far behind catches up a chunk at a time.
constexpr uint64_t kMaxRecordsPerChunk = 256;

// Where one client's feed stands.
struct FeedCursor {
  uint64_t next = 0;  // the first record not yet sent (or skipped as not the reader's)
  std::shared_ptr<const Reader> reader;
};

// What the feed says of a record: enough to know what changed; the record itself is a read away.
// A denial names the attempt's kind and signer.
json Announcement(const StoredRecord& record) {
  json out = {{"seq", record.seq},
              {"ledger_time", FormatTime(record.ledger_time)},
              {"kind", std::string(record.event.kind())},
              {"deployment", std::string(record.event.deployment())},
              {"actor", std::string(record.event.actor())},
              {"denied", false}};
  if (record.event.kind() == "policy.denied") {
    out["denied"] = true;
    SignedEvent attempt = SignedEvent::OfDenial(record.event.reader().getBody().getPolicyDenied());
    if (auto intent = attempt.ReadEvent(); intent.ok()) {
      out["intent"] = std::string(intent->kind());
      out["actor"] = std::string(intent->actor());
    }
  }
  return out;
}

// The events of the records from cursor.next up to `size` (a chunk's worth at most) the reader
// may see; moves the cursor past them.
Result<std::string> NextEvents(const Ledger& ledger, FeedCursor& cursor, uint64_t size) {
  std::string out;
  const uint64_t end = std::min(size, cursor.next + kMaxRecordsPerChunk);
  for (; cursor.next < end; ++cursor.next) {
    if (cursor.reader && !cursor.reader->scope.all) {
      SHIPLOG_ASSIGN_OR_RETURN(bool visible, RecordVisible(ledger, *cursor.reader, cursor.next));
      if (!visible) continue;
    }
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(cursor.next));
    out += "id: " + std::to_string(record.seq) + "\nevent: record\ndata: " +
           DumpJson(Announcement(record)) + "\n";
  }
  return out;
}

// Sends the next chunk through `done` once there is one: records as soon as the ledger grows, a
// keep-alive comment at each heartbeat, the end when the server stops.
void Pump(ServerState& state, std::shared_ptr<FeedCursor> cursor, FeedDone done) {
  state.feed->Wait(cursor->next, [&state, cursor, done](EventFeed::Wake wake) {
    if (wake == EventFeed::Wake::kClosed) return done("", false);
    // Reading records is a read: off the committing thread, on the reader pool.
    state.readers.Continue([&state, cursor, done, wake] {
      // A shared database's other servers do not wake this feed: look at each heartbeat.
      if (wake == EventFeed::Wake::kHeartbeat) {
        if (Status fresh = state.ledger.Refresh(); !fresh.ok()) {
          spdlog::warn("live feed: {}", fresh.ToString());
        }
      }
      auto events = NextEvents(state.ledger, *cursor, state.ledger.size());
      if (!events.ok()) {
        spdlog::error("live feed stopped: {}", events.status().ToString());
        return done("event: error\ndata: " +
                        DumpJson({{"code", StatusCodeName(events.status().code())},
                                  {"message", events.status().message()}}) +
                        "\n\n",
                    false);
      }
      if (!events->empty()) return done(std::move(*events), true);
      if (wake == EventFeed::Wake::kHeartbeat) return done(": keep-alive\n\n", true);
      Pump(state, cursor, done);  // new records, none the reader's: wait on
    });
  });
}

Response LiveFeed(ServerState& state, const Request& request) {
  Status params = OnlyParams(request, {"from"});
  if (!params.ok()) return ErrorResponse(params);
  auto from = UintParam(request, "from");
  if (!from.ok()) return ErrorResponse(from.status());
  if (state.feed == nullptr) return ErrorResponse(503, "unavailable", "this server has no feed");
  auto cursor = std::make_shared<FeedCursor>();
  cursor->reader = request.reader;
  cursor->next = state.ledger.size();
  if (*from) {
    cursor->next = **from;
  } else if (auto last = request.Header("last-event-id")) {
    // A reconnecting EventSource-style client resumes after the last record it saw.
    std::optional<uint64_t> seen = ParseSeq(*last);
    if (!seen) return ErrorResponse(400, "invalid_argument", "Last-Event-ID is not a seq");
    cursor->next = *seen + 1;
  }
  Response r;
  r.content_type = "text/event-stream";
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  // The first chunk says where the feed starts, so the client sees the stream open at once.
  auto opened = std::make_shared<bool>(false);
  r.next = [&state, cursor, opened](FeedDone done) {
    if (!*opened) {
      *opened = true;
      return done(": shiplog live feed from record " + std::to_string(cursor->next) + "\n\n",
                  true);
    }
    Pump(state, cursor, std::move(done));
  };
  return r;
}

}  // namespace

bool RouteStream(ServerState& state, const Request& request, const Respond& respond) {
  if (request.path != "/v1/stream") return false;
  if (request.method != "GET") {
    respond(ErrorResponse(405, "method_not_allowed", "/v1/stream takes GET, not " + request.method));
    return true;
  }
  respond(LiveFeed(state, request));
  return true;
}

}  // namespace shiplog::adapters
