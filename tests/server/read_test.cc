// The read-only endpoints of the real server: queries streamed as JSON lines (and counted),
// checkpoints and proofs that verify offline, a deployment's state and replay, its timeline, and
// the 400s and 404s for bad parameters and unknown things.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "ledger/event.h"
#include "ledger/key_file.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

std::vector<json> Lines(const std::string& body) {
  std::vector<json> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::vector<uint64_t> SeqsOf(const std::vector<json>& records) {
  std::vector<uint64_t> seqs;
  for (const json& r : records) seqs.push_back(r["seq"]);
  return seqs;
}

// A deploy chain on a manual clock that never moves (the server holds the ledger, so no
// `shiplog clock advance`): everything through staging READY is allowed, and the production
// start is denied because staging has not soaked.
class ReadTest : public ::testing::Test {
 protected:
  ReadTest()
      : server_({{"leon", {"coordinator"}}, {"marta", {"merge-approver"}}, {"ci-bot", {"ci"}},
                 {"thijmen", {"k8s-operator"}}, {"rutger", {"production-ops"}},
                 {"otto", {"backup"}}}) {}

  void SetUp() override {
    server_.Start();
    request_ = As("leon", {{"kind", "deploy.requested"}, {"app", "checkout"},
                           {"environment", "production"}, {"version", "1.4.2"}, {"image", kImage},
                           {"strategy", "rolling"}, {"risk", "low"},
                           {"planned_steps", {"orchestrate", "build", "staging", "production"}}});
    As("marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}});
    for (auto [who, step] : std::vector<std::pair<std::string, std::string>>{
             {"leon", "orchestrate"}, {"ci-bot", "build"}}) {
      As(who, {{"kind", "step.started"}, {"step", step}});
      As(who, {{"kind", "step.reported"}, {"step", step}, {"status", "READY"}});
    }
    As("ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"}, {"image", kImage}});
    staging_started_ = As("thijmen", {{"kind", "step.started"}, {"step", "staging"}});
    staging_ready_ =
        As("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    As("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    adapters::HttpReply denied = server_.Post(
        "/v1/events",
        server_.Sign("rutger", {{"kind", "step.started"}, {"deployment", "checkout-1"},
                                {"step", "production"}}).dump());
    ASSERT_EQ(denied.status, 403) << denied.body;
    denied_ = json::parse(denied.body)["denial_receipt"]["seq"];
    chain_.push_back(denied_);
  }

  // Submits `event` for checkout-1 signed by `who`; its seq.
  uint64_t As(const std::string& who, json event) {
    event["deployment"] = "checkout-1";
    adapters::HttpReply reply = server_.Post("/v1/events", server_.Sign(who, event).dump());
    EXPECT_EQ(reply.status, 200) << event.dump() << ": " << reply.body;
    const uint64_t seq = json::parse(reply.body)["seq"];
    chain_.push_back(seq);
    return seq;
  }

  json GetJson(const std::string& target, int expected_status = 200) {
    adapters::HttpReply reply = server_.Get(target);
    EXPECT_EQ(reply.status, expected_status) << target << ": " << reply.body;
    return json::parse(reply.body);
  }

  // The proof (or receipt) checks out offline with the ledger's public key alone.
  void ExpectVerifies(const std::string& document) {
    ProcessResult r = server_.Shiplog(
        {"verify-proof", "--ledger-key", server_.data() + "/ledger.key.pub", "-"}, document);
    EXPECT_EQ(r.exit_code, 0) << document << r.err << r.out;
  }

  ServerProcess server_;
  std::vector<uint64_t> chain_;  // every record of checkout-1, in order
  uint64_t request_ = 0;
  uint64_t staging_started_ = 0;
  uint64_t staging_ready_ = 0;
  uint64_t denied_ = 0;
};

TEST_F(ReadTest, QueryStreamsWhatWasSubmittedAsJsonLinesAndTheCliAgrees) {
  adapters::HttpReply reply = server_.Get("/v1/query?deployment=checkout-1");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(reply.content_type, StartsWith("application/x-ndjson"));
  std::vector<json> records = Lines(reply.body);
  EXPECT_EQ(SeqsOf(records), chain_);
  EXPECT_EQ(records.front()["event"]["kind"], "deploy.requested");
  EXPECT_EQ(records.back()["event"]["kind"], "policy.denied");

  EXPECT_EQ(SeqsOf(Lines(server_.Get("/v1/query?app=checkout").body)), chain_)
      << "every record of the app's one deployment";
  EXPECT_EQ(SeqsOf(Lines(server_.Get("/v1/query?decision=denied").body)),
            std::vector<uint64_t>{denied_});
  std::vector<uint64_t> allowed = SeqsOf(Lines(server_.Get("/v1/query?decision=allowed").body));
  EXPECT_THAT(allowed, ::testing::Contains(request_));
  EXPECT_THAT(allowed, ::testing::Contains(staging_started_));
  EXPECT_THAT(allowed, ::testing::Not(::testing::Contains(staging_ready_))) << "not an intent";
  EXPECT_THAT(allowed, ::testing::Not(::testing::Contains(denied_)));
  EXPECT_EQ(SeqsOf(Lines(server_.Get("/v1/query?actor=thijmen&step=staging").body)),
            (std::vector<uint64_t>{staging_started_, staging_ready_}));

  // The same filters through `shiplog query` once the server let go of the ledger.
  const std::vector<std::pair<std::string, std::vector<std::string>>> filters = {
      {"deployment=checkout-1", {"--deployment", "checkout-1"}},
      {"app=checkout&since=2026-11-24T18:00:00Z", {"--app", "checkout", "--since", "2026-11-24T18:00:00Z"}},
      {"decision=denied", {"--decision", "denied"}},
      {"role=ci&kind=step.started", {"--role", "ci", "--kind", "step.started"}}};
  std::vector<std::string> served;
  for (const auto& [query, options] : filters) {
    adapters::HttpReply r = server_.Get("/v1/query?" + query);
    ASSERT_EQ(r.status, 200) << query << ": " << r.body;
    served.push_back(r.body);
  }
  ASSERT_EQ(server_.Stop(), 0);
  for (size_t i = 0; i < filters.size(); ++i) {
    std::vector<std::string> args = {"query", "--data", server_.data()};
    args.insert(args.end(), filters[i].second.begin(), filters[i].second.end());
    ProcessResult cli = server_.Shiplog(args);
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    EXPECT_EQ(Lines(served[i]), Lines(cli.out)) << filters[i].first;
    EXPECT_FALSE(Lines(cli.out).empty()) << filters[i].first;
  }
}

TEST_F(ReadTest, CountAnswersHowManyRecordsMatch) {
  EXPECT_EQ(GetJson("/v1/query?deployment=checkout-1&count=true"), json({{"count", chain_.size()}}));
  EXPECT_EQ(GetJson("/v1/query?decision=denied&count=true")["count"], 1);
  EXPECT_EQ(GetJson("/v1/query?deployment=checkout-2&count=true")["count"], 0);
  EXPECT_EQ(GetJson("/v1/query?count=true")["count"], denied_ + 1) << "every record";
}

TEST_F(ReadTest, ALargeAnswerStreamsInChunksAcrossPages) {
  // More reviews than one page of the query's producer (256), from several clients at once.
  auto key = ReadKeyFile(server_.key("marta"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  constexpr int kClients = 6, kEach = 50;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        auto event = Event::FromJson({{"id", "review-" + std::to_string(c) + "-" + std::to_string(i)},
                                      {"kind", "review"}, {"actor", "marta"},
                                      {"deployment", "checkout-1"}, {"subject", "merge"},
                                      {"verdict", "approved"}});
        ASSERT_TRUE(event.ok()) << event.status().ToString();
        adapters::HttpReply reply =
            server_.Post("/v1/events", SignedEvent::Sign(*event, *key).ToJson().dump());
        ASSERT_EQ(reply.status, 200) << reply.body;
      }
    });
  }
  for (auto& t : clients) t.join();

  adapters::HttpReply reply = server_.Get("/v1/query?actor=marta");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.headers["transfer-encoding"], "chunked");
  std::vector<json> records = Lines(reply.body);
  ASSERT_EQ(records.size(), 1u + kClients * kEach);
  std::vector<uint64_t> seqs = SeqsOf(records);
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  EXPECT_EQ(std::adjacent_find(seqs.begin(), seqs.end()), seqs.end()) << "no record twice";
  for (const json& r : records) EXPECT_EQ(r["event"]["actor"], "marta");
  EXPECT_EQ(GetJson("/v1/query?actor=marta&count=true")["count"], records.size());
  // A bounded window over the same answer picks up exactly where the pages would split.
  EXPECT_EQ(Lines(server_.Get("/v1/query?actor=marta&from_seq=" + std::to_string(seqs[256])).body)
                .size(),
            records.size() - 256);
}

TEST_F(ReadTest, CheckpointsAndProofsVerifyOffline) {
  json latest = GetJson("/v1/checkpoint");
  EXPECT_EQ(latest["size"], denied_ + 1);
  // Each submission above committed alone, so the tree was signed at the request's size too.
  const uint64_t then = request_ + 1;
  json past = GetJson("/v1/checkpoint?size=" + std::to_string(then));
  EXPECT_EQ(past["size"], then);

  adapters::HttpReply inclusion = server_.Get("/v1/proofs/inclusion?seq=" + std::to_string(denied_));
  ASSERT_EQ(inclusion.status, 200) << inclusion.body;
  EXPECT_EQ(json::parse(inclusion.body)["type"], "inclusion");
  ExpectVerifies(inclusion.body);
  adapters::HttpReply at_size = server_.Get("/v1/proofs/inclusion?seq=" + std::to_string(request_) +
                                            "&size=" + std::to_string(then));
  ASSERT_EQ(at_size.status, 200) << at_size.body;
  ExpectVerifies(at_size.body);

  adapters::HttpReply consistency =
      server_.Get("/v1/proofs/consistency?from=" + std::to_string(then) +
                  "&to=" + std::to_string(latest["size"].get<uint64_t>()));
  ASSERT_EQ(consistency.status, 200) << consistency.body;
  EXPECT_EQ(json::parse(consistency.body)["type"], "consistency");
  ExpectVerifies(consistency.body);
}

TEST_F(ReadTest, DeploymentStateNowAndReplayedAtASeqOrTime) {
  json now = GetJson("/v1/deployments/checkout-1");
  EXPECT_EQ(now["deployment"], "checkout-1");
  EXPECT_EQ(now["seq"], denied_);
  EXPECT_EQ(now["steps"][2]["step"], "staging");
  EXPECT_EQ(now["steps"][2]["status"], "READY");
  bool production = false;
  for (const json& n : now["next"]) {
    if (n.value("step", "") != "production") continue;
    production = true;
    EXPECT_EQ(n["decision"]["allowed"], false) << "staging has not soaked: " << n.dump();
  }
  EXPECT_TRUE(production) << now.dump();

  json before_staging = GetJson("/v1/deployments/checkout-1?at=" + std::to_string(staging_started_ - 1));
  EXPECT_EQ(before_staging["seq"], staging_started_ - 1);
  EXPECT_NE(before_staging["steps"][2].value("status", ""), "READY") << before_staging.dump();
  bool staging = false;
  for (const json& n : before_staging["next"]) {
    if (n.value("step", "") != "staging") continue;
    staging = true;
    EXPECT_EQ(n["decision"]["allowed"], true) << "build is READY and scanned: " << n.dump();
  }
  EXPECT_TRUE(staging) << before_staging.dump();

  // Every record so far has the manual clock's one time, so that time folds them all.
  json at_time = GetJson("/v1/deployments/checkout-1?at=2026-11-24T18:00:00Z");
  EXPECT_EQ(at_time["seq"], denied_);
  EXPECT_EQ(at_time["steps"], now["steps"]);
  EXPECT_EQ(GetJson("/v1/deployments/checkout-1?at=" + std::to_string(staging_ready_)),
            GetJson("/v1/deployments/checkout-1?at=" + std::to_string(staging_ready_)))
      << "replay never reads the present";
}

TEST_F(ReadTest, TimelineAsJsonAndAsAPage) {
  adapters::HttpReply reply = server_.Get("/v1/deployments/checkout-1/timeline");
  ASSERT_EQ(reply.status, 200) << reply.body;
  json timeline = json::parse(reply.body);
  EXPECT_EQ(timeline["format"], "shiplog-timeline-v1");
  EXPECT_EQ(SeqsOf(timeline["entries"].get<std::vector<json>>()), chain_);
  EXPECT_EQ(timeline["denials"], 1);

  adapters::HttpReply page = server_.Get("/v1/deployments/checkout-1/timeline?format=html");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(page.content_type, StartsWith("text/html"));
  EXPECT_THAT(page.body, StartsWith("<!DOCTYPE html>"));
  for (uint64_t seq : chain_) {
    EXPECT_THAT(page.body, HasSubstr("id=\"seq-" + std::to_string(seq) + "\"")) << seq;
  }
}

TEST_F(ReadTest, UnknownThingsAre404AndBadParametersAre400NamingThem) {
  auto error = [&](const std::string& target, int status) {
    adapters::HttpReply reply = server_.Get(target);
    EXPECT_EQ(reply.status, status) << target << ": " << reply.body;
    json body = json::parse(reply.body, nullptr, false);
    EXPECT_TRUE(body.contains("error")) << target << ": " << reply.body;
    return body.is_object() && body.contains("error") ? body["error"].value("message", "") : "";
  };
  error("/v1/deployments/checkout-9", 404);
  error("/v1/deployments/checkout-9/timeline", 404);
  error("/v1/deployments/checkout-1?at=99999", 404);
  error("/v1/deployments/checkout-1?at=2026-11-24T17:00:00Z", 404);
  EXPECT_THAT(error("/v1/deployments/checkout-1?at=yesterday", 400), HasSubstr("at"));
  EXPECT_THAT(error("/v1/deployments/checkout-1?when=5", 400), HasSubstr("when"));
  EXPECT_THAT(error("/v1/deployments/checkout-1/timeline?format=pdf", 400), HasSubstr("format"));
  error("/v1/deployments/", 404);
  error("/v1/checkpoint?size=100000", 404);
  EXPECT_THAT(error("/v1/checkpoint?size=ten", 400), HasSubstr("size"));
  EXPECT_THAT(error("/v1/proofs/inclusion", 400), HasSubstr("seq"));
  EXPECT_THAT(error("/v1/proofs/inclusion?seq=-1", 400), HasSubstr("seq"));
  error("/v1/proofs/inclusion?seq=100000", 404);
  EXPECT_THAT(error("/v1/proofs/consistency?from=3", 400), HasSubstr("to"));
  EXPECT_THAT(error("/v1/query?deployment=checkout-1&colour=red", 400), HasSubstr("colour"));
  EXPECT_THAT(error("/v1/query?decision=maybe", 400), HasSubstr("maybe"));
  EXPECT_THAT(error("/v1/query?since=noon", 400), HasSubstr("since"));
  EXPECT_THAT(error("/v1/query?since=2026-11-24T19:00:00Z&until=2026-11-24T18:00:00Z", 400),
              HasSubstr("until"));
  EXPECT_THAT(error("/v1/query?count=yes", 400), HasSubstr("count"));
  // A read route answers an unsigned call with 401 whatever its method: the read check comes
  // first, so a caller without a key learns nothing of the routes.
  EXPECT_EQ(server_.Post("/v1/query", "{}").status, 401);
  // The server goes on answering.
  EXPECT_EQ(server_.Get("/v1/checkpoint").status, 200);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
