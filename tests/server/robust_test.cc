// The real server under load and under bad clients: many agents at once, each answer durable and
// verifiable; malformed, oversized, slow and half-closed requests; too many connections; SIGTERM
// while requests are in flight; a second server on the same data; Cap'n Proto bodies.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/http.h"
#include "ledger/canonical.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "schemas/record.capnp.h"
#include "tests/server/raw_socket.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::map<std::string, std::vector<std::string>> Coordinators(int n) {
  std::map<std::string, std::vector<std::string>> agents;
  for (int i = 0; i < n; ++i) agents["agent" + std::to_string(i)] = {"coordinator"};
  return agents;
}

adapters::ServerUrl UrlOf(const ServerProcess& server) {
  return {"127.0.0.1", std::to_string(server.port()), ""};
}

// A submission on a fresh connection; the status is 0 when no answer came.
adapters::HttpReply Submit(const ServerProcess& server, const SignedEvent& event) {
  adapters::HttpCall call;
  call.method = "POST";
  call.target = "/v1/events";
  call.content_type = adapters::kJson;
  call.body = event.ToJson().dump();
  auto reply = adapters::Call(UrlOf(server), call);
  return reply.ok() ? *reply : adapters::HttpReply{};
}

uint64_t RecordsNow(const ServerProcess& server) {
  return json::parse(server.Get("/readyz").body)["records"].get<uint64_t>();
}

// The value of an unlabelled metric line "NAME VALUE".
double Metric(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(ServerLoad, ManyAgentsAtOnceAllGetVerifiableReceiptsWithGapFreeSeqs) {
  constexpr int kAgents = 16;
  constexpr int kEach = 20;
  ServerProcess server(Coordinators(kAgents));
  server.Start({"--verify-threads", "2"});
  const uint64_t before = RecordsNow(server);
  const std::string ledger_key = LedgerPublicKey(server.data());

  std::mutex mu;
  std::vector<std::string> failures;  // GUARDED_BY(mu)
  std::map<uint64_t, std::string> seq_to_id;  // GUARDED_BY(mu)
  std::vector<std::thread> clients;
  for (int a = 0; a < kAgents; ++a) {
    clients.emplace_back([&, a] {
      const std::string name = "agent" + std::to_string(a);
      Agent agent(name, server.key(name));
      for (int i = 0; i < kEach; ++i) {
        const std::string id = name + "-event-" + std::to_string(i);
        adapters::HttpReply reply =
            Submit(server, agent.Sign(DeployRequest(id, name + "-deploy-" + std::to_string(i))));
        std::string problem;
        uint64_t seq = 0;
        if (reply.status != 200) {
          problem = id + ": HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 300);
        } else {
          auto receipt = Receipt::FromJson(json::parse(reply.body));
          if (!receipt.ok()) {
            problem = id + ": " + receipt.status().ToString();
          } else if (auto checked = receipt->Verify(ledger_key); !checked.ok()) {
            problem = id + ": the receipt does not verify: " + checked.status().ToString();
          } else if (receipt->event_id != id) {
            problem = id + ": the receipt is for " + receipt->event_id;
          }
          if (receipt.ok()) seq = receipt->seq;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (!problem.empty()) failures.push_back(problem);
        if (seq != 0 && !seq_to_id.emplace(seq, id).second) {
          failures.push_back("seq " + std::to_string(seq) + " given twice");
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  ASSERT_THAT(failures, ::testing::IsEmpty());

  // Every seq from the first free one on, each once, none skipped.
  ASSERT_EQ(seq_to_id.size(), static_cast<size_t>(kAgents * kEach));
  EXPECT_EQ(seq_to_id.begin()->first, before);
  EXPECT_EQ(seq_to_id.rbegin()->first, before + kAgents * kEach - 1);
  EXPECT_EQ(RecordsNow(server), before + kAgents * kEach);
  EXPECT_EQ(Metric(server.Get("/metrics").body, "shiplog_appends_total"), kAgents * kEach);

  ASSERT_EQ(server.Stop(), 0) << server.Log();
  ProcessResult verified = server.Shiplog({"verify", "--data", server.data()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  StoredLedger stored(server.data());
  for (const auto& [seq, id] : seq_to_id) EXPECT_EQ(stored.EventIdAt(seq), id) << "seq " << seq;
}

TEST(ServerStop, SigtermAnswersWhatIsInFlightExitsZeroAndRefusesNewConnections) {
  constexpr int kAgents = 8;
  ServerProcess server(Coordinators(kAgents));
  server.Start();
  const uint16_t port = server.port();

  // A request half sent when SIGTERM comes is read to its end and answered, not dropped.
  RawSocket partial(port);
  ASSERT_TRUE(partial.connected());
  ASSERT_TRUE(partial.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  // So is an intent check (answered by the sequencer, which is gone by the time it arrives).
  json check = DeployRequest("check-1", "checked");
  check["actor"] = "agent0";
  const std::string intent = check.dump();
  RawSocket partial_check(port);
  ASSERT_TRUE(partial_check.connected());
  ASSERT_TRUE(partial_check.Send("POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 "Content-Type: application/json\r\nContent-Length: " +
                                 std::to_string(intent.size()) + "\r\n\r\n"));

  std::atomic<bool> stop_sent{false};
  std::atomic<int> answered_after_stop{0};
  std::mutex mu;
  std::vector<std::string> failures;          // GUARDED_BY(mu)
  std::map<uint64_t, std::string> receipts;   // GUARDED_BY(mu)
  std::vector<std::thread> clients;
  for (int a = 0; a < kAgents; ++a) {
    clients.emplace_back([&, a] {
      const std::string name = "agent" + std::to_string(a);
      Agent agent(name, server.key(name));
      for (int i = 0;; ++i) {
        const std::string id = name + "-" + std::to_string(i);
        adapters::HttpReply reply = Submit(server, agent.Sign(DeployRequest(id, id)));
        std::lock_guard<std::mutex> lock(mu);
        if (reply.status == 0) {
          if (stop_sent) return;  // the server has gone: refused or closed
          failures.push_back(id + ": no answer before SIGTERM");
          return;
        }
        if (stop_sent) ++answered_after_stop;
        if (reply.status == 200) {
          receipts[json::parse(reply.body)["seq"].get<uint64_t>()] = id;
        } else if (!(reply.status == 503 && stop_sent)) {
          failures.push_back(id + ": HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 300));
        }
        if (i > 400) return;  // a bound, should the stop never come
      }
    });
  }
  // Let the load build up (some receipts in), then stop it.
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (receipts.size() >= 20 || !failures.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop_sent = true;
  int exit_code = -2;
  std::thread stopper([&] { exit_code = server.Stop(SIGTERM); });
  // Give the signal a moment to land before the half-sent request ends (it ends either way; the
  // pause only makes the stop come first).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(partial.Send("\r\n"));
  const std::string answer = partial.ReadUntilClosed();
  EXPECT_EQ(RawSocket::StatusOf(answer), 200) << "answer: " << answer;
  ASSERT_TRUE(partial_check.Send(intent));
  const std::string check_answer = partial_check.ReadUntilClosed();
  EXPECT_THAT(RawSocket::StatusOf(check_answer), AnyOf(200, 503)) << "answer: " << check_answer;
  for (auto& c : clients) c.join();
  stopper.join();
  EXPECT_EQ(exit_code, 0) << server.Log();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_THAT(server.Log(), HasSubstr("SIGTERM received"));

  // Gone: a new connection is refused.
  RawSocket late(port);
  EXPECT_FALSE(late.connected());

  // Every answered submission is on disk at its seq, and the ledger verifies.
  ProcessResult verified = server.Shiplog({"verify", "--data", server.data()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  StoredLedger stored(server.data());
  for (const auto& [seq, id] : receipts) EXPECT_EQ(stored.EventIdAt(seq), id) << "seq " << seq;
}

// Bad clients each get their answer (or are cut off), nothing half-sent is stored, and the
// server goes on serving others.
class BadClientTest : public ::testing::Test {
 protected:
  BadClientTest() : server_(Coordinators(1)) {}
  void SetUp() override {
    server_.Start(
        {"--max-body", "4096", "--request-timeout-ms", "500", "--idle-timeout-ms", "2000"});
    records_ = RecordsNow(server_);
  }
  void TearDown() override {
    EXPECT_EQ(server_.Get("/healthz").status, 200);
    EXPECT_EQ(RecordsNow(server_), records_) << "nothing a bad client sent is stored";
  }
  // What the server answers to `bytes` on a connection of their own.
  std::string Exchange(const std::string& bytes) {
    RawSocket socket(server_.port());
    EXPECT_TRUE(socket.connected());
    socket.Send(bytes);
    return socket.ReadUntilClosed();
  }
  std::string SignedBody() const {
    return Agent("agent0", server_.key("agent0")).Sign(DeployRequest("e1", "d1")).ToJson().dump();
  }
  std::string PostHead(size_t content_length) const {
    return "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
  }
  ServerProcess server_;
  uint64_t records_ = 0;
};

TEST_F(BadClientTest, GarbageThatIsNotHttpIs400) {
  EXPECT_EQ(RawSocket::StatusOf(Exchange("\x16\x03\x01 hello there\r\n\r\n")), 400);
  EXPECT_EQ(RawSocket::StatusOf(Exchange("GET / HTTP/9.9 what\r\n\r\n")), 400);
  EXPECT_EQ(RawSocket::StatusOf(Exchange(
                "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: many\r\n\r\n")),
            400);
}

TEST_F(BadClientTest, ABodyOverMaxBodyIs413) {
  const std::string answer = Exchange(PostHead(8000) + std::string(8000, 'x'));
  EXPECT_EQ(RawSocket::StatusOf(answer), 413) << answer;
  EXPECT_THAT(answer, HasSubstr("4096"));
}

// A client that sends its whole oversized body before reading still gets the 413: the server
// reads and drops the rest instead of resetting the connection under the answer.
TEST_F(BadClientTest, AHugeBodySentWholeStillGets413) {
  RawSocket socket(server_.port());
  ASSERT_TRUE(socket.connected());
  const size_t size = 8 * 1024 * 1024;
  EXPECT_TRUE(socket.Send(PostHead(size) + std::string(size, 'x'))) << "the server reset the upload";
  const std::string answer = socket.ReadUntilClosed();
  EXPECT_EQ(RawSocket::StatusOf(answer), 413) << answer.substr(0, 200);
}

// Waiting for a request is bounded by the idle timeout (2 s here), not by the request timeout
// (0.5 s), which starts with the request's first byte.
TEST_F(BadClientTest, AConnectionWithNoRequestIsClosedAfterTheIdleTimeout) {
  RawSocket thinking(server_.port());
  ASSERT_TRUE(thinking.connected());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_TRUE(thinking.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(RawSocket::StatusOf(thinking.ReadUntilClosed()), 200)
      << "a connection quiet for less than the idle timeout was cut off";

  RawSocket idle(server_.port());
  ASSERT_TRUE(idle.connected());
  bool timed_out = false;
  EXPECT_EQ(idle.ReadUntilClosed(&timed_out), "");
  EXPECT_FALSE(timed_out) << "the server still holds an idle connection";

  // Also after a first request on a keep-alive connection.
  RawSocket kept(server_.port());
  ASSERT_TRUE(kept.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const std::string answer = kept.ReadUntilClosed(&timed_out);
  EXPECT_EQ(RawSocket::StatusOf(answer), 200) << answer;
  EXPECT_FALSE(timed_out) << "the server still holds an idle keep-alive connection";
}

TEST_F(BadClientTest, HeadersOverTheLimitAre431) {
  const std::string answer = Exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " +
                                      std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(RawSocket::StatusOf(answer), 431) << answer;
}

TEST_F(BadClientTest, ASlowClientIsCutOffAfterTheRequestTimeout) {
  RawSocket slow(server_.port());
  ASSERT_TRUE(slow.connected());
  const std::string body = SignedBody();
  ASSERT_TRUE(slow.Send(PostHead(body.size()) + body.substr(0, body.size() / 2)));
  bool timed_out = false;
  const std::string answer = slow.ReadUntilClosed(&timed_out);
  EXPECT_FALSE(timed_out) << "the server still holds the connection";
  EXPECT_THAT(RawSocket::StatusOf(answer), AnyOf(408, 0)) << answer;
}

TEST_F(BadClientTest, AHalfCloseMidRequestStoresNothing) {
  RawSocket socket(server_.port());
  ASSERT_TRUE(socket.connected());
  const std::string body = SignedBody();
  ASSERT_TRUE(socket.Send(PostHead(body.size()) + body.substr(0, body.size() / 2)));
  socket.ShutdownWrite();
  bool timed_out = false;
  socket.ReadUntilClosed(&timed_out);
  EXPECT_FALSE(timed_out) << "the server still holds a connection the client half-closed";
}

TEST_F(BadClientTest, ADisconnectMidBodyStoresNothing) {
  for (int i = 0; i < 5; ++i) {
    RawSocket socket(server_.port());
    ASSERT_TRUE(socket.connected());
    const std::string body = SignedBody();
    ASSERT_TRUE(socket.Send(PostHead(body.size()) + body.substr(0, body.size() - 1)));
  }
  // The whole request on a good connection is still taken (and then undone by TearDown's count,
  // so count it here).
  EXPECT_EQ(server_.Post("/v1/events", SignedBody()).status, 200);
  ++records_;
}

// Connections with a request begun fill the server: a connection over the limit is 503.
TEST(ServerLimits, ConnectionsOverTheLimitAre503) {
  ServerProcess server;
  // The held connections' requests stay unfinished for the whole test: on a loaded machine that
  // can outlast the default 15 s request timeout, which would free their places (408) early.
  server.Start({"--max-connections", "4", "--request-timeout-ms", "120000"});
  // The server counts a connection until it sees the client's close, which a loaded machine can
  // delay past Start()'s /readyz calls; such a straggler would take a held one's place. The first
  // held connection asks, on keep-alive, until it is the only one left.
  std::vector<std::unique_ptr<RawSocket>> held;
  held.push_back(std::make_unique<RawSocket>(server.port()));
  ASSERT_TRUE(held.back()->connected());
  double open = -1;
  for (int attempt = 0; attempt < 500 && open != 1; ++attempt) {
    ASSERT_TRUE(held.back()->Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const std::string answer = held.back()->ReadAnswer();
    ASSERT_EQ(RawSocket::StatusOf(answer), 200) << answer;
    open = Metric(answer, "shiplog_open_connections");
    if (open != 1) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(open, 1) << "connections the test closed are still open on the server";
  for (int i = 1; i < 4; ++i) {
    held.push_back(std::make_unique<RawSocket>(server.port()));
    ASSERT_TRUE(held.back()->connected());
  }
  // Each has a request begun: an idle one would be closed to make room for the fifth.
  for (auto& socket : held) ASSERT_TRUE(socket->Send("GET /healthz HTTP/1.1\r\nHost: 127"));
  // Until the server has read those bytes it counts the connection idle, and nothing outside
  // can tell when it has (a full server answers no /metrics): a loaded machine (ThreadSanitizer
  // on two cores) once let the fifth in ahead of them. Give the reads time to land.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  RawSocket fifth(server.port());
  ASSERT_TRUE(fifth.connected());
  const std::string answer = fifth.ReadUntilClosed();
  EXPECT_EQ(RawSocket::StatusOf(answer), 503) << answer;
  // An HTTP client reads that answer whole (its length is right) and gets the reason.
  auto reply = adapters::Call(UrlOf(server), adapters::HttpCall{});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(json::parse(reply->body)["error"]["code"], "unavailable");
  held.clear();
  // Once they are closed, others are served again (the server notices the closes on its own time).
  int status = 0;
  for (int attempt = 0; attempt < 500 && status != 200; ++attempt) {
    status = server.Get("/healthz").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 200);
}

TEST(ServerLock, ASecondServerOnTheSameDataIsRefused) {
  ServerProcess server;
  server.Start();
  ProcessResult second = server.Shiplog({"serve", "--data", server.data(), "--insecure-listen",
                                         "127.0.0.1:" + std::to_string(PickFreePort())});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.err, HasSubstr("in use by another shiplog process")) << second.err;
  EXPECT_EQ(server.Get("/healthz").status, 200) << "the first one goes on";
}

TEST(ServerCapnp, ACapnpSubmissionGetsAReceiptMessageThatProvesItself) {
  ServerProcess server(Coordinators(1));
  server.Start();
  const SignedEvent event = Agent("agent0", server.key("agent0")).Sign(DeployRequest("c1", "capnp-1"));
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<schema::SignedEvent>();
  auto data = [](const std::string& s) {
    return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
  };
  e.setScheme(event.scheme);
  e.setPayload(data(event.payload));
  e.setPublicKey(data(event.public_key));
  e.setSignature(data(event.signature));
  auto words = capnp::messageToFlatArray(message);
  adapters::HttpCall call;
  call.method = "POST";
  call.target = "/v1/events";
  call.content_type = adapters::kCapnp;
  call.accept = adapters::kCapnp;
  call.body.assign(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
  auto reply = adapters::Call(UrlOf(server), call);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->status, 200) << reply->body;
  EXPECT_EQ(reply->content_type, adapters::kCapnp);

  ASSERT_EQ(reply->body.size() % sizeof(capnp::word), 0u);
  kj::Array<capnp::word> aligned = kj::heapArray<capnp::word>(reply->body.size() / sizeof(capnp::word));
  std::memcpy(aligned.begin(), reply->body.data(), reply->body.size());
  capnp::FlatArrayMessageReader reader(aligned);
  auto fields = reader.getRoot<schema::Receipt>();
  EXPECT_EQ(std::string(fields.getEventId().cStr()), "c1");
  EXPECT_EQ(std::string(fields.getActor().cStr()), "agent0");
  EXPECT_EQ(fields.getSeq(), 2u);  // genesis, the enrolment, this
  // The message proves itself as the JSON receipt does: entry, inclusion proof, signed checkpoint.
  auto bytes = [](capnp::Data::Reader d) {
    return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
  };
  auto record = StoredRecord::FromEntry(bytes(fields.getEntry()));
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  std::vector<merkle::Hash> path;
  for (auto node : fields.getInclusionProof()) {
    ASSERT_EQ(node.size(), 32u);
    path.emplace_back();
    std::memcpy(path.back().data(), node.begin(), 32);
  }
  Receipt receipt = Receipt::Of(*record, bytes(fields.getLedgerKey()),
                                fields.getCheckpoint().cStr(), path);
  EXPECT_EQ(receipt.leaf_hash, bytes(fields.getLeafHash()));
  EXPECT_EQ(receipt.payload_hash, bytes(fields.getPayloadHash()));
  auto verified = receipt.Verify(LedgerPublicKey(server.data()));
  EXPECT_TRUE(verified.ok()) << verified.status().ToString();
  receipt.entry[receipt.entry.size() / 2] ^= 1;
  EXPECT_FALSE(receipt.Verify(LedgerPublicKey(server.data())).ok());
  EXPECT_FALSE(fields.getDenied());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
