// The real server against what an outsider can send (issue 23): a path that is not UTF-8, a body
// that never completes, idle sockets holding every connection slot, many connections from one
// address, and heavy reads of a long deployment sent while others need the server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "tests/server/raw_socket.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

// `headers`: a read's signature (ServerProcess::ReadSignature) for a route that needs one.
std::string Get(const std::string& target, bool keep_alive = false,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  return request + (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

// The JSON body of a whole answer read off a raw socket.
json BodyOf(const std::string& answer) {
  const size_t head_end = answer.find("\r\n\r\n");
  if (head_end == std::string::npos) return json();
  return json::parse(answer.substr(head_end + 4), nullptr, false);
}

// The number after "NAME " on a line of /metrics.
double Metric(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

// A keep-alive connection that asks /metrics until it is the only one the server counts (the
// connections of Start()'s /readyz calls may still be open on a loaded machine). It stays open,
// idle, after.
std::unique_ptr<RawSocket> OnlyConnection(const ServerProcess& server) {
  auto socket = std::make_unique<RawSocket>(server.port());
  EXPECT_TRUE(socket->connected());
  for (int attempt = 0; attempt < 500; ++attempt) {
    EXPECT_TRUE(socket->Send(Get("/metrics", /*keep_alive=*/true)));
    const std::string answer = socket->ReadAnswer();
    EXPECT_EQ(RawSocket::StatusOf(answer), 200) << answer;
    if (Metric(answer, "shiplog_open_connections") == 1) return socket;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "connections the test closed are still open on the server";
  return socket;
}

TEST(ServerHostile, PercentFFPathIs404JsonAndTheServerServesOn) {
  ServerProcess server;
  server.Start();
  for (const std::string target : {"/%FF", "/v1/deployments/%FF%FE",
                                   "/v1/deployments/%C3%28/timeline", "/v1/checkpoint?%FF=1"}) {
    RawSocket socket(server.port());
    ASSERT_TRUE(socket.connected());
    ASSERT_TRUE(socket.Send(Get(target, false, server.ReadSignature(target))));
    const std::string answer = socket.ReadUntilClosed();
    const int status = RawSocket::StatusOf(answer);
    EXPECT_GE(status, 400) << target << ": " << answer;
    EXPECT_LT(status, 500) << target << ": " << answer;
    const json body = BodyOf(answer);
    EXPECT_TRUE(body.is_object() && body.contains("error")) << target << ": " << answer;
    const int health = server.Get("/healthz").status;
    EXPECT_EQ(health, 200) << "after " << target << ":\n" << server.Log();
    if (health != 200) break;  // the server is gone: the other inputs would tell nothing more
  }
  EXPECT_EQ(server.Get("/%FF").status, 404);
  EXPECT_EQ(server.Stop(), 0) << "the server did not exit cleanly (-1: killed by a signal)";
}

// The request timeout counts from the first byte: a body that stops short gets a 408 it can read,
// not a silent close.
TEST(ServerHostile, ABodyThatNeverCompletesGets408) {
  ServerProcess server;
  server.Start({"--request-timeout-ms", "300"});
  RawSocket socket(server.port());
  ASSERT_TRUE(socket.connected());
  ASSERT_TRUE(socket.Send(
      "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"kind\":\"r"));
  bool timed_out = false;
  const std::string answer = socket.ReadUntilClosed(&timed_out);
  EXPECT_FALSE(timed_out) << "the server still holds the connection";
  EXPECT_EQ(RawSocket::StatusOf(answer), 408) << answer;
  EXPECT_EQ(BodyOf(answer)["error"]["code"], "request_timeout") << answer;
  EXPECT_EQ(server.Get("/healthz").status, 200);
}

// At the connection limit, idle keep-alive connections make room for a new client: N idle
// sockets no longer hold every slot.
TEST(ServerConnections, IdleSocketsAtTheLimitDoNotStopANewClient) {
  ServerProcess server;
  server.Start({"--max-connections", "4"});
  std::vector<std::unique_ptr<RawSocket>> idle;
  idle.push_back(OnlyConnection(server));
  for (int i = 1; i < 4; ++i) {
    idle.push_back(std::make_unique<RawSocket>(server.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  for (int client = 0; client < 3; ++client) {
    adapters::HttpReply reply = server.Get("/healthz");
    EXPECT_EQ(reply.status, 200) << "client " << client << ": " << reply.body;
  }
  // Room was made by closing idle ones (which, of these four, depends on the order the server
  // saw them go idle); the others still serve.
  int closed = 0, serving = 0;
  for (auto& socket : idle) {
    socket->Send(Get("/healthz", /*keep_alive=*/true));
    const std::string answer = socket->ReadAnswer();
    if (answer.empty()) ++closed;
    if (RawSocket::StatusOf(answer) == 200) ++serving;
  }
  EXPECT_GE(closed, 1) << "no idle connection was closed to make room";
  EXPECT_EQ(closed + serving, 4);
}

// One address may not take every slot: the connection over its cap is refused with 503.
TEST(ServerConnections, ThePerAddressCapRefusesTheConnectionOverItWith503) {
  ServerProcess server;
  server.Start({"--max-connections-per-address", "2"});
  std::vector<std::unique_ptr<RawSocket>> held;
  held.push_back(OnlyConnection(server));
  held.push_back(std::make_unique<RawSocket>(server.port()));
  ASSERT_TRUE(held.back()->connected());
  RawSocket third(server.port());
  ASSERT_TRUE(third.connected());
  const std::string answer = third.ReadUntilClosed();
  EXPECT_EQ(RawSocket::StatusOf(answer), 503) << answer;
  EXPECT_THAT(answer, HasSubstr("Retry-After: 1"));
  EXPECT_THAT(BodyOf(answer)["error"].value("message", ""), HasSubstr("address"));
  held.clear();
  int status = 0;
  for (int attempt = 0; attempt < 500 && status != 200; ++attempt) {
    status = server.Get("/healthz").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 200) << "the address's slots came back once its connections closed";
}

// A deployment of a few thousand reviews, appended in-process before the server starts.
class HeavyReadTest : public ::testing::Test {
 protected:
  static constexpr int kEvents = 3000;
  HeavyReadTest() : server_({{"marta", {"merge-approver"}}, {"leon", {"coordinator"}}}) {}

  void SetUp() override {
    SystemClock clock;
    auto ledger = Ledger::Open(server_.data(), &clock);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    Agent marta("marta", server_.key("marta"));
    std::vector<CheckedEvent> batch;
    for (int i = 0; i < kEvents; ++i) {
      auto checked = CheckEvent(marta.Sign({{"id", "review-" + std::to_string(i)},
                                            {"kind", "review"},
                                            {"deployment", "big-1"},
                                            {"subject", "merge"},
                                            {"verdict", "approved"}}));
      ASSERT_TRUE(checked.ok()) << checked.status().ToString();
      batch.push_back(std::move(checked).value());
    }
    for (auto& receipt : (*ledger)->AppendBatch(std::move(batch))) {
      ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
      seqs_.push_back(receipt->seq);
    }
  }

  ServerProcess server_;
  std::vector<uint64_t> seqs_;
};

// The timeline of a long deployment comes a bounded page at a time, each linking to the next, and
// the pages together hold every entry once.
TEST_F(HeavyReadTest, TheTimelineIsPagedAndThePagesHoldEveryEntry) {
  server_.Start();
  std::vector<uint64_t> seen;
  std::string target = "/v1/deployments/big-1/timeline";
  for (int pages = 0; pages < 20 && !target.empty(); ++pages) {
    adapters::HttpReply reply = server_.Get(target);
    ASSERT_EQ(reply.status, 200) << target << ": " << reply.body.substr(0, 300);
    const json page = json::parse(reply.body);
    ASSERT_LE(page["entries"].size(), 500u) << target;
    EXPECT_EQ(page["page"]["total_entries"], kEvents);
    for (const json& entry : page["entries"]) seen.push_back(entry["seq"]);
    target = page["page"].contains("next_from")
                 ? "/v1/deployments/big-1/timeline?from=" +
                       std::to_string(page["page"]["next_from"].get<uint64_t>())
                 : "";
  }
  EXPECT_EQ(seen, seqs_);

  adapters::HttpReply html = server_.Get("/v1/deployments/big-1/timeline?format=html&limit=100");
  ASSERT_EQ(html.status, 200);
  size_t rows = 0;
  for (size_t at = html.body.find("<tr id=\"seq-"); at != std::string::npos;
       at = html.body.find("<tr id=\"seq-", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 100u);
  EXPECT_THAT(html.body, HasSubstr("rel=\"next\" href=\"?format=html&amp;from=" +
                                   std::to_string(seqs_[100]) + "&amp;limit=100\""));
  const json past_the_end = json::parse(
      server_.Get("/v1/deployments/big-1/timeline?from=" + std::to_string(seqs_.back() + 1)).body);
  EXPECT_TRUE(past_the_end["entries"].empty()) << past_the_end.dump().substr(0, 300);
  EXPECT_FALSE(past_the_end["page"].contains("next_from"));
  EXPECT_EQ(server_.Get("/v1/deployments/big-1/timeline?limit=0").status, 400);
  EXPECT_EQ(server_.Get("/v1/deployments/big-1/timeline?limit=100000").status, 400);
}

// Past the reader pool's bound a heavy read is refused at once with 503 and Retry-After rather
// than queued without end. One reader and a bound of one: of eight timelines sent together, the
// first holds the pool while it folds 3000 records, and those that arrive meanwhile are refused.
TEST_F(HeavyReadTest, ReadsOverTheQueueBoundAre503WithRetryAfter) {
  server_.Start({"--read-threads", "1", "--max-queued-reads", "1"});
  std::vector<std::unique_ptr<RawSocket>> readers;
  for (int i = 0; i < 8; ++i) {
    readers.push_back(std::make_unique<RawSocket>(server_.port()));
    ASSERT_TRUE(readers.back()->connected());
    const std::string target = "/v1/deployments/big-1/timeline";
    ASSERT_TRUE(readers.back()->Send(Get(target, false, server_.ReadSignature(target))));
  }
  int served = 0, refused = 0;
  for (auto& reader : readers) {
    const std::string answer = reader->ReadUntilClosed();
    const int status = RawSocket::StatusOf(answer);
    if (status == 200) ++served;
    if (status != 503) continue;
    ++refused;
    EXPECT_THAT(answer, HasSubstr("Retry-After: 1"));
    EXPECT_EQ(BodyOf(answer)["error"]["code"], "unavailable") << answer;
  }
  EXPECT_EQ(served + refused, 8) << "every read is answered 200 or 503";
  EXPECT_GE(served, 1);
  EXPECT_GE(refused, 1);
  // The pool takes reads again once it is free (its slot is released just after the answer is
  // handed over, so a client as quick as this one may still see one 503 and retry).
  int status = 0;
  for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
    status = server_.Get("/v1/deployments/big-1/timeline?limit=1").status;
    if (status == 503) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 200);
}

// Heavy reads in flight (their clients never read) do not hold up /healthz or an append: with
// one I/O thread, both are answered before the last of four timelines.
TEST_F(HeavyReadTest, TimelinesInFlightDoNotStallHealthOrAppends) {
  server_.Start({"--io-threads", "1"});
  const std::string timeline = "/v1/deployments/big-1/timeline?format=html";
  std::vector<std::unique_ptr<RawSocket>> heavy;
  for (int i = 0; i < 4; ++i) {
    heavy.push_back(std::make_unique<RawSocket>(server_.port()));
    ASSERT_TRUE(heavy.back()->connected());
    ASSERT_TRUE(heavy.back()->Send(Get(timeline)));
  }
  EXPECT_EQ(server_.Get("/healthz").status, 200);
  Agent leon("leon", server_.key("leon"));
  adapters::HttpReply appended =
      server_.Post("/v1/events", leon.Sign(DeployRequest("request-1", "other-1")).ToJson().dump());
  EXPECT_EQ(appended.status, 200) << appended.body;

  // The order the server answered in, from its request log (one line per answer, as written).
  const std::string log = server_.Log();
  auto timelines_before = [&](const std::string& line) {
    const size_t at = log.find(line);
    EXPECT_NE(at, std::string::npos) << line << " not in the log:\n" << log;
    int count = 0;
    for (size_t t = log.find("GET " + timeline + " 200"); t != std::string::npos && t < at;
         t = log.find("GET " + timeline + " 200", t + 1)) {
      ++count;
    }
    return count;
  };
  EXPECT_LT(timelines_before("GET /healthz 200"), 4) << log;
  EXPECT_LT(timelines_before("POST /v1/events 200"), 4) << log;
  heavy.clear();
  EXPECT_EQ(server_.Stop(), 0) << server_.Log();
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
