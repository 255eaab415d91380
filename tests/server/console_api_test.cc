// What the reviewers' console reads from the real server: its own files at /ui/ (public, with a
// strict Content-Security-Policy), the deployment list with its filters and pages, records with
// their inclusion proofs to one signed checkpoint, and the live feed of appended records
// (Server-Sent Events), each with the refusals a reader limited to some deployments gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "adapters/http_signature.h"
#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/key_file.h"
#include "ledger/merkle.h"
#include "ledger/proof.h"
#include "tests/server/deploy_chain.h"
#include "tests/server/raw_socket.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kCheckoutImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::string kSearchImage =
    "registry.example/search@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

std::vector<std::string> IdsOf(const json& list) {
  std::vector<std::string> ids;
  for (const json& d : list["deployments"]) ids.push_back(d["deployment"]);
  return ids;
}

// Three deployments: checkout-1 to production, held at a denied production start; search-1 to
// staging, which the policy lets through to the end of its chain but is never completed; and
// bad-1, refused outright (a tag, not a digest).
class ConsoleApiTest : public ::testing::Test {
 protected:
  ConsoleApiTest() : server_(Agents()) {}

  static std::map<std::string, std::vector<std::string>> Agents() {
    auto agents = ChainAgents();
    agents["ava"] = {"auditor"};
    return agents;
  }

  void SetUp() override {
    server_.Start();
    WalkToStagingStart(As("checkout-1"), ChainRequest("checkout", kCheckoutImage));
    json search = ChainRequest("search", kSearchImage);
    search["environment"] = "staging";
    search["planned_steps"] = {"orchestrate", "build", "staging"};
    WalkToStagingStart(As("search-1"), search);
    // checkout's production start is refused (staging is not READY): held at a denial.
    json production = {{"kind", "step.started"}, {"deployment", "checkout-1"},
                       {"step", "production"}};
    ASSERT_EQ(server_.Post("/v1/events", server_.Sign("rutger", production).dump()).status, 403);
    json bad = ChainRequest("checkout", "registry.example/checkout:latest");
    bad["deployment"] = "bad-1";
    ASSERT_EQ(server_.Post("/v1/events", server_.Sign("leon", bad).dump()).status, 403);
  }

  SubmitAs As(const std::string& deployment) {
    return [this, deployment](const std::string& agent, json event) {
      event["deployment"] = deployment;
      adapters::HttpReply reply = server_.Post("/v1/events", server_.Sign(agent, event).dump());
      ASSERT_EQ(reply.status, 200) << reply.body;
    };
  }

  json GetJson(const std::string& target, int status = 200) {
    adapters::HttpReply reply = server_.Get(target);
    EXPECT_EQ(reply.status, status) << target << ": " << reply.body;
    return json::parse(reply.body);
  }

  ServerProcess server_;
};

TEST_F(ConsoleApiTest, TheConsoleIsServedUnsignedWithAStrictContentSecurityPolicy) {
  adapters::HttpReply page = server_.GetUnsigned("/ui/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(page.body, HasSubstr("<html"));
  EXPECT_THAT(page.headers["content-type"], HasSubstr("text/html"));
  EXPECT_THAT(page.headers["content-security-policy"], HasSubstr("script-src 'self'"));
  EXPECT_THAT(page.headers["content-security-policy"], HasSubstr("frame-ancestors 'none'"));
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  adapters::HttpReply script = server_.GetUnsigned("/ui/verify.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_THAT(script.headers["content-type"], HasSubstr("text/javascript"));
  adapters::HttpReply bare = server_.GetUnsigned("/ui");
  EXPECT_EQ(bare.status, 308);
  EXPECT_EQ(bare.headers["location"], "/ui/");
  EXPECT_EQ(server_.GetUnsigned("/ui/no-such-file.js").status, 404);
  EXPECT_EQ(server_.GetUnsigned("/ui/../v1/query").status, 404);
  // The files are public; the data they read is not.
  EXPECT_EQ(server_.GetUnsigned("/v1/deployments").status, 401);
  EXPECT_EQ(server_.GetUnsigned("/v1/records?seqs=1").status, 401);
  EXPECT_EQ(server_.GetUnsigned("/v1/stream").status, 401);
}

TEST_F(ConsoleApiTest, TheListIsNewestFirstWithWhereEachDeploymentStands) {
  const json list = GetJson("/v1/deployments");
  EXPECT_EQ(IdsOf(list), (std::vector<std::string>{"bad-1", "search-1", "checkout-1"}));
  EXPECT_FALSE(list.contains("next_before"));
  const json bad = list["deployments"][0];
  EXPECT_EQ(bad["status"], "denied");
  EXPECT_EQ(bad["requested_by"], "leon");
  EXPECT_EQ(bad["app"], "checkout");
  EXPECT_EQ(bad["image"], "registry.example/checkout:latest");
  EXPECT_EQ(bad["denials"], 1);
  const json search = list["deployments"][1];
  EXPECT_EQ(search["status"], "in progress");
  EXPECT_EQ(search["environment"], "staging");
  EXPECT_EQ(search["denials"], 0);
  EXPECT_GT(search["last_seq"].get<uint64_t>(), search["requested_seq"].get<uint64_t>());
  const json checkout = list["deployments"][2];
  EXPECT_EQ(checkout["status"], "denied");
  EXPECT_EQ(checkout["version"], "1.4.2");
  EXPECT_EQ(checkout["denials"], 1);
}

TEST_F(ConsoleApiTest, TheListFiltersAndPages) {
  EXPECT_EQ(IdsOf(GetJson("/v1/deployments?app=checkout")),
            (std::vector<std::string>{"bad-1", "checkout-1"}));
  EXPECT_EQ(IdsOf(GetJson("/v1/deployments?environment=staging")),
            (std::vector<std::string>{"search-1"}));
  EXPECT_EQ(IdsOf(GetJson("/v1/deployments?status=in%20progress")),
            (std::vector<std::string>{"search-1"}));
  EXPECT_EQ(IdsOf(GetJson("/v1/deployments?status=completed")), std::vector<std::string>{});
  // rutger signed only checkout-1's refused production start.
  EXPECT_EQ(IdsOf(GetJson("/v1/deployments?actor=rutger")),
            (std::vector<std::string>{"checkout-1"}));
  EXPECT_EQ(IdsOf(GetJson("/v1/deployments?until=2000-01-01T00:00:00Z")),
            std::vector<std::string>{});

  const json first = GetJson("/v1/deployments?limit=2");
  EXPECT_EQ(IdsOf(first), (std::vector<std::string>{"bad-1", "search-1"}));
  ASSERT_TRUE(first.contains("next_before"));
  const json second =
      GetJson("/v1/deployments?limit=2&before=" + std::to_string(first["next_before"].get<uint64_t>()));
  EXPECT_EQ(IdsOf(second), (std::vector<std::string>{"checkout-1"}));
  EXPECT_FALSE(second.contains("next_before"));

  EXPECT_THAT(GetJson("/v1/deployments?status=stuck", 400).dump(), HasSubstr("stuck"));
  EXPECT_THAT(GetJson("/v1/deployments?limit=0", 400).dump(), HasSubstr("limit"));
  EXPECT_THAT(GetJson("/v1/deployments?colour=red", 400).dump(), HasSubstr("colour"));
}

TEST_F(ConsoleApiTest, AReaderLimitedToOneEnvironmentListsOnlyItsDeployments) {
  adapters::HttpReply staging = server_.GetAs("thijmen", "/v1/deployments");
  ASSERT_EQ(staging.status, 200) << staging.body;
  EXPECT_EQ(IdsOf(json::parse(staging.body)), std::vector<std::string>{"search-1"});
  // ci-bot reads proofs only.
  EXPECT_EQ(server_.GetAs("ci-bot", "/v1/deployments").status, 403);
}

TEST_F(ConsoleApiTest, RecordsComeWithInclusionProofsToOneSignedCheckpoint) {
  const std::string ledger_key = *ReadPublicKey(server_.data() + "/ledger.key.pub");
  const json answer = GetJson("/v1/records?seqs=3,1,5");
  auto checkpoint = Checkpoint::Open(answer["checkpoint"]["checkpoint"].get<std::string>(),
                                     ledger_key);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  ASSERT_EQ(answer["records"].size(), 3u);
  std::vector<uint64_t> seqs;
  for (const json& record : answer["records"]) {
    const uint64_t seq = record["seq"];
    seqs.push_back(seq);
    auto entry = Base64Decode(record["entry"].get<std::string>());
    ASSERT_TRUE(entry.ok());
    auto stored = StoredRecord::FromEntry(*entry);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(stored->seq, seq);
    auto path = HashesFromJson(record["proof"], "proof");
    ASSERT_TRUE(path.ok());
    EXPECT_TRUE(merkle::VerifyInclusion(seq, checkpoint->head.size, merkle::LeafHash(*entry),
                                        *path, checkpoint->head.root))
        << "record " << seq;
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 1, 5}));

  // At a named size, every proof leads to that checkpoint's root.
  const json older = GetJson("/v1/records?seqs=2&size=4");
  EXPECT_EQ(older["checkpoint"]["size"], 4);
  EXPECT_THAT(GetJson("/v1/records?seqs=3&size=3", 404).dump(), HasSubstr("not in"));
  EXPECT_THAT(GetJson("/v1/records?seqs=1,,2", 400).dump(), HasSubstr("seqs"));
  EXPECT_THAT(GetJson("/v1/records?seqs=999999", 404).dump(), HasSubstr("999999"));
  std::string many = "0";
  for (int i = 1; i <= 1000; ++i) many += ",0";
  EXPECT_THAT(GetJson("/v1/records?seqs=" + many, 400).dump(), HasSubstr("1000"));
}

TEST_F(ConsoleApiTest, AReaderLimitedToOneEnvironmentGetsOnlyItsRecords) {
  const json staging = GetJson("/v1/query?deployment=search-1&kind=deploy.requested");
  const json production = GetJson("/v1/query?deployment=checkout-1&kind=deploy.requested");
  const std::string mine = std::to_string(staging["seq"].get<uint64_t>());
  const std::string theirs = std::to_string(production["seq"].get<uint64_t>());
  EXPECT_EQ(server_.GetAs("thijmen", "/v1/records?seqs=" + mine).status, 200);
  adapters::HttpReply refused = server_.GetAs("thijmen", "/v1/records?seqs=" + mine + "," + theirs);
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("may not read record " + theirs));
}

// A signed GET of the live feed on a raw socket, which stays open.
std::string FeedRequest(const ServerProcess& server, const std::string& target,
                        const std::string& key_file = "") {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : server.ReadSignature(target, key_file)) {
    request += name + ": " + value + "\r\n";
  }
  return request + "\r\n";
}

// The feed's text up to the end of record `seq`'s event.
std::string ReadThroughEvent(RawSocket& feed, uint64_t seq) {
  const std::string id = "id: " + std::to_string(seq) + "\n";
  std::string out = feed.ReadUntilContains(id);
  const size_t at = out.find(id);
  while (at != std::string::npos && out.find("\n\n", at) == std::string::npos) {
    std::string more = feed.ReadUntilContains("\n\n");
    if (more.empty()) break;
    out += more;
  }
  return out;
}

TEST_F(ConsoleApiTest, TheLiveFeedSendsEachAppendedRecordAsItCommits) {
  RawSocket feed(server_.port());
  ASSERT_TRUE(feed.connected());
  ASSERT_TRUE(feed.Send(FeedRequest(server_, "/v1/stream")));
  const std::string opened = feed.ReadUntilContains("live feed from record");
  EXPECT_EQ(RawSocket::StatusOf(opened), 200) << opened;
  EXPECT_THAT(opened, HasSubstr("text/event-stream"));

  const uint64_t next = GetJson("/readyz")["records"];
  json review = {{"kind", "review"}, {"deployment", "checkout-1"}, {"subject", "security"},
                 {"verdict", "approved"}};
  adapters::HttpReply appended = server_.Post("/v1/events", server_.Sign("marta", review).dump());
  ASSERT_EQ(appended.status, 200) << appended.body;
  const std::string event = ReadThroughEvent(feed, next);
  EXPECT_THAT(event, HasSubstr("event: record"));
  EXPECT_THAT(event, HasSubstr("\"kind\":\"review\""));
  EXPECT_THAT(event, HasSubstr("\"deployment\":\"checkout-1\""));

  // A refused attempt is announced too, naming what was tried and by whom.
  json production = {{"kind", "step.started"}, {"deployment", "checkout-1"}, {"step", "production"}};
  ASSERT_EQ(server_.Post("/v1/events", server_.Sign("rutger", production).dump()).status, 403);
  const std::string denial = ReadThroughEvent(feed, next + 1);
  EXPECT_THAT(denial, HasSubstr("\"intent\":\"step.started\""));
  EXPECT_THAT(denial, HasSubstr("\"actor\":\"rutger\""));

  // Stopping the server ends the feed: the connection closes and the server exits.
  EXPECT_EQ(server_.Stop(), 0);
  bool timed_out = true;
  feed.ReadUntilClosed(&timed_out);
  EXPECT_FALSE(timed_out);
}

TEST_F(ConsoleApiTest, TheLiveFeedResumesFromARecordAndShowsAScopedReaderOnlyItsOwn) {
  // From record 1: the whole history so far, then whatever comes.
  RawSocket all(server_.port());
  ASSERT_TRUE(all.Send(FeedRequest(server_, "/v1/stream?from=1")));
  const uint64_t size = GetJson("/readyz")["records"];
  const std::string backlog = ReadThroughEvent(all, size - 1);
  EXPECT_THAT(backlog, HasSubstr("id: 1\n"));
  EXPECT_THAT(backlog, HasSubstr("\"deployment\":\"search-1\""));

  // thijmen reads staging only: from the same record on, the feed skips checkout's records.
  RawSocket scoped(server_.port());
  ASSERT_TRUE(scoped.Send(FeedRequest(server_, "/v1/stream?from=1", server_.key("thijmen"))));
  json review = {{"kind", "review"}, {"deployment", "search-1"}, {"subject", "security"},
                 {"verdict", "approved"}};
  ASSERT_EQ(server_.Post("/v1/events", server_.Sign("marta", review).dump()).status, 200);
  const std::string seen = ReadThroughEvent(scoped, size);
  EXPECT_THAT(seen, HasSubstr("\"deployment\":\"search-1\""));
  EXPECT_THAT(seen, ::testing::Not(HasSubstr("\"deployment\":\"checkout-1\"")));
  EXPECT_THAT(seen, ::testing::Not(HasSubstr("\"deployment\":\"bad-1\"")));

  EXPECT_EQ(server_.Get("/v1/stream?from=x").status, 400);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
