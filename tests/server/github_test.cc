// GitHub's deployment protection rule through the real `shiplog serve` on loopback, with a local
// double of api.github.com (tests/server/github_double.h): the webhook's HMAC, approvals and
// rejections reaching GitHub with the documented body and a valid installation token, one record
// per delivery, and GitHub being down.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <thread>

#include "adapters/github/webhook_signature.h"
#include "tests/cli/process.h"
#include "tests/cli/test_ledger.h"
#include "tests/server/deploy_chain.h"
#include "tests/server/github_double.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAppId[] = "424242";
constexpr char kSecret[] = "It's a Secret to Everybody";
constexpr char kRepository[] = "Codertocat/Hello-World";
constexpr char kSha[] = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
const std::string kImage =
    "registry.example/"
    "checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
constexpr char kRunTarget[] =
    "/repos/Codertocat/Hello-World/actions/runs/7/deployment_protection_rule";

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class GitHubRouteTest : public ::testing::Test {
 protected:
  GitHubRouteTest()
      : server_({{"leon", {"coordinator"}},
                 {"marta", {"merge-approver"}},
                 {"ci-bot", {"ci"}},
                 {"thijmen", {"k8s-operator"}},
                 {"otto", {"backup"}},
                 {"shiplog-server", {"enforcer"}}}),
        github_(app_.get(), kAppId) {
    WriteFile(dir_ / "webhook.secret", std::string(kSecret) + "\n");
    WriteFile(dir_ / "app.pem", app_.PrivatePem());
  }

  // Every option the route needs, pointed at the double, with quick retries.
  std::vector<std::string> GitHubOptions() const {
    return {"--integration-key",
            server_.key("shiplog-server"),
            "--github-webhook-secret",
            dir_ / "webhook.secret",
            "--github-app-id",
            kAppId,
            "--github-app-key",
            dir_ / "app.pem",
            "--github-api",
            github_.url(),
            "--public-url",
            "https://shiplog.example/",
            "--github-retry-first-ms",
            "50",
            "--github-retry-max-ms",
            "200"};
  }

  // Appends `event` as `agent` before the server runs (the server holds the ledger's lock).
  void As(const std::string& agent, json event, const std::string& deployment = "checkout-7") {
    event["actor"] = agent;
    event["deployment"] = deployment;
    const Receipt receipt = AppendTestEvent(server_.data(), server_.key(agent), event);
    ASSERT_FALSE(receipt.denied) << event.dump() << "\n" << receipt.decision;
  }
  void Advance(const std::string& duration) { AdvanceTestClock(server_.data(), duration); }

  // A deployment of kSha requested with its source and carried to the door of production:
  // everything but the backup when `backup` is false (R12 then denies production).
  void UpToProduction(bool backup) {
    json request = ChainRequest("checkout", kImage);
    request["source"] = {{"repository", kRepository}, {"commit", kSha}};
    WalkToStagingStart([&](const std::string& agent, json event) { As(agent, event); }, request);
    As("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    if (backup) As("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
    Advance("16m");  // past the staging soak (R10)
  }

  // The documented delivery for kRepository@kSha, reviewed at the double.
  json Delivery(const std::string& environment = "production",
                const std::string& sha = kSha) const {
    json body = ExampleProtectionRuleDelivery();
    body["environment"] = environment;
    body["deployment"]["environment"] = environment;
    body["deployment"]["sha"] = sha;
    body["deployment_callback_url"] = github_.url() + kRunTarget;
    return body;
  }

  // POSTs `body` as GitHub delivers it, signed with `secret` (none when empty).
  // `signature`, when given, is sent as X-Hub-Signature-256 instead.
  adapters::HttpReply Deliver(const std::string& body, const std::string& guid,
                              const std::string& secret = kSecret,
                              const std::string& event = "deployment_protection_rule",
                              const std::string& signature = "") const {
    adapters::HttpCall call;
    call.method = "POST";
    call.target = "/v1/github/deployment-protection-rule";
    call.content_type = "application/json";
    call.body = body;
    call.headers = {{"X-GitHub-Event", event},
                    {"X-GitHub-Delivery", guid},
                    {"User-Agent", "GitHub-Hookshot/044aadd"}};
    if (!signature.empty()) {
      call.headers.push_back({"X-Hub-Signature-256", signature});
    } else if (!secret.empty()) {
      call.headers.push_back(
          {"X-Hub-Signature-256", "sha256=" + adapters::github::HmacSha256Hex(secret, body)});
    }
    auto reply =
        adapters::Call(adapters::ServerUrl{"127.0.0.1", std::to_string(server_.port()), ""}, call);
    if (!reply.ok()) throw std::runtime_error(reply.status().ToString());
    return std::move(reply).value();
  }

  uint64_t Records() const { return json::parse(server_.Get("/readyz").body)["records"]; }

  // The enforcement.decided records, as /v1/query streams them.
  std::vector<json> Decided() const {
    std::vector<json> out;
    std::istringstream lines(server_.Get("/v1/query?kind=enforcement.decided").body);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.push_back(json::parse(line));
    }
    return out;
  }

  // The counter `name` at /metrics.
  uint64_t Metric(const std::string& name) const {
    std::istringstream lines(server_.Get("/metrics").body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stoull(line.substr(name.size() + 1));
    }
    return 0;
  }

  ScratchDir dir_;
  RsaKeyPair app_;
  ServerProcess server_;
  GitHubDouble github_;
};

TEST_F(GitHubRouteTest, ABadSignatureIs401AndRecordsNothing) {
  UpToProduction(true);
  server_.Start(GitHubOptions());
  const uint64_t before = Records();
  const std::string body = Delivery().dump();
  adapters::HttpReply forged = Deliver(body, "g-1", "not the secret");
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_THAT(forged.body, HasSubstr("X-Hub-Signature-256"));
  EXPECT_EQ(Deliver(body, "g-1", "").status, 401) << "no signature at all";
  // The signature of the real body on a changed one (the environment, say).
  std::string tampered = body;
  tampered.replace(tampered.find("\"production\""), 12, "\"staging\"");
  const std::string real_signature = "sha256=" + adapters::github::HmacSha256Hex(kSecret, body);
  EXPECT_EQ(Deliver(tampered, "g-1", kSecret, "deployment_protection_rule", real_signature).status,
            401);
  EXPECT_EQ(Records(), before) << "nothing recorded";
  EXPECT_TRUE(github_.requests().empty()) << "nothing sent to GitHub";
  EXPECT_EQ(Deliver(body, "g-1", kSecret, "deployment_protection_rule", real_signature).status, 202)
      << "the same signature on the body it was made for";
  EXPECT_EQ(Records(), before + 1);
  EXPECT_EQ(server_.Get("/healthz").status, 200);
}

TEST_F(GitHubRouteTest, APingAndAMalformedDeliveryRecordNothing) {
  server_.Start(GitHubOptions());
  const uint64_t before = Records();
  adapters::HttpReply ping =
      Deliver(R"({"zen":"Design for failure.","hook_id":1})", "g-0", kSecret, "ping");
  EXPECT_EQ(ping.status, 200) << ping.body;
  EXPECT_EQ(json::parse(ping.body)["ignored"], true);
  json no_sha = Delivery();
  no_sha["deployment"].erase("sha");
  adapters::HttpReply malformed = Deliver(no_sha.dump(), "g-1");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(json::parse(malformed.body)["error"]["message"].get<std::string>(),
              HasSubstr("deployment.sha"));
  EXPECT_EQ(Deliver("{not json", "g-2").status, 400);
  json elsewhere = Delivery();
  elsewhere["deployment_callback_url"] =
      "https://evil.example/repos/Codertocat/Hello-World/actions/runs/7/deployment_protection_rule";
  adapters::HttpReply refused = Deliver(elsewhere.dump(), "g-3");
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.body, HasSubstr("--github-api"));
  EXPECT_EQ(Deliver(Delivery().dump(), "").status, 400) << "no X-GitHub-Delivery";
  EXPECT_EQ(Records(), before);
  EXPECT_TRUE(github_.requests().empty());
}

TEST_F(GitHubRouteTest, AnAllowedProductionStepIsApprovedAtGitHub) {
  UpToProduction(true);
  server_.Start(GitHubOptions());
  adapters::HttpReply reply = Deliver(Delivery().dump(), "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  ASSERT_EQ(reply.status, 202) << reply.body;
  const json answer = json::parse(reply.body);
  EXPECT_EQ(answer["state"], "approved");
  EXPECT_EQ(answer["deployment"], "checkout-7");
  EXPECT_EQ(answer["step"], "production");
  EXPECT_EQ(answer["duplicate"], false);

  ASSERT_TRUE(github_.WaitForReviews(1, 30s)) << server_.Log();
  const json review = github_.reviews()[0];
  EXPECT_EQ(review["_target"], kRunTarget);
  EXPECT_EQ(review["environment_name"], "production");
  EXPECT_EQ(review["state"], "approved");
  EXPECT_THAT(
      review["comment"].get<std::string>(),
      HasSubstr("(https://shiplog.example/v1/deployments/checkout-7/timeline?format=html)"));
  // The double took the review only with a token it issued for a JWT that verified.
  ASSERT_EQ(github_.jwt_claims().size(), 1u);
  EXPECT_EQ(github_.jwt_claims()[0]["iss"], kAppId);
  const auto requests = github_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/app/installations/2311213/access_tokens");
  EXPECT_EQ(requests[1].headers.at("accept"), "application/vnd.github+json");
  EXPECT_EQ(requests[1].headers.at("x-github-api-version"), "2022-11-28");
  EXPECT_THAT(requests[1].headers.at("authorization"), HasSubstr("Bearer ghs_"));

  const std::vector<json> decided = Decided();
  ASSERT_EQ(decided.size(), 1u);
  const json& event = decided[0]["event"];
  EXPECT_EQ(event["id"], "github-delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958");
  EXPECT_EQ(event["actor"], "shiplog-server");
  EXPECT_EQ(event["point"], "github-deployment-protection-rule");
  EXPECT_EQ(event["request"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  EXPECT_EQ(event["subject"], std::string(kRepository) + "@" + kSha + " -> production");
  EXPECT_EQ(event["deployment"], "checkout-7");
  EXPECT_EQ(event["environment"], "production");
  EXPECT_EQ(event["step"], "production");
  EXPECT_EQ(event["allowed"], true);
  EXPECT_EQ(decided[0]["seq"], answer["seq"]);
  // Approving records a decision, not a step: production has not started.
  EXPECT_EQ(json::parse(server_.Get("/v1/query?kind=step.started&count=true").body)["count"], 3);
}

TEST_F(GitHubRouteTest, ADeniedProductionStepIsRejectedWithItsReasons) {
  UpToProduction(/*backup=*/false);
  server_.Start(GitHubOptions());
  adapters::HttpReply reply = Deliver(Delivery().dump(), "g-reject");
  ASSERT_EQ(reply.status, 202) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["state"], "rejected");
  ASSERT_TRUE(github_.WaitForReviews(1, 30s)) << server_.Log();
  const json review = github_.reviews()[0];
  EXPECT_EQ(review["state"], "rejected");
  EXPECT_EQ(review["environment_name"], "production");
  EXPECT_THAT(review["comment"].get<std::string>(), HasSubstr("R12 backup-before-prod"));
  ASSERT_EQ(Decided().size(), 1u);
  EXPECT_FALSE(Decided()[0]["event"].value("allowed", false)) << "false is stored as absent";
  EXPECT_THAT(Decided()[0]["event"]["decision"].get<std::string>(), HasSubstr("R12"));
}

TEST_F(GitHubRouteTest, ARedeliveryRecordsNothingNewAndSendsTheRecordedDecisionAgain) {
  UpToProduction(false);
  server_.Start(GitHubOptions());
  const std::string body = Delivery().dump();
  ASSERT_EQ(Deliver(body, "g-twice").status, 202);
  const uint64_t after_first = Records();
  adapters::HttpReply again = Deliver(body, "g-twice");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["duplicate"], true);
  EXPECT_EQ(json::parse(again.body)["state"], "rejected");
  EXPECT_EQ(Records(), after_first);
  EXPECT_EQ(Decided().size(), 1u);
  ASSERT_TRUE(github_.WaitForReviews(2, 30s)) << server_.Log();
  EXPECT_EQ(github_.reviews()[1], github_.reviews()[0]);
  EXPECT_EQ(github_.tokens_issued(), 1u) << "the installation token is reused";
}

TEST_F(GitHubRouteTest, OneDeliveryArrivingManyTimesAtOnceIsRecordedOnce) {
  UpToProduction(true);
  server_.Start(GitHubOptions());
  const std::string body = Delivery().dump();
  std::vector<int> statuses(6);
  std::vector<std::string> states(statuses.size());
  std::vector<std::thread> senders;
  for (size_t i = 0; i < statuses.size(); ++i) {
    senders.emplace_back([&, i] {
      adapters::HttpReply reply = Deliver(body, "g-burst");
      statuses[i] = reply.status;
      states[i] = json::parse(reply.body).value("state", "");
    });
  }
  for (std::thread& t : senders) t.join();
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_TRUE(statuses[i] == 202 || statuses[i] == 200) << statuses[i];
    EXPECT_EQ(states[i], "approved");
  }
  EXPECT_EQ(Decided().size(), 1u);
  ASSERT_TRUE(github_.WaitForReviews(statuses.size(), 30s)) << server_.Log();
}

TEST_F(GitHubRouteTest, ARedeliveryAfterARestartPostsTheDecisionRecordedBefore) {
  UpToProduction(false);
  server_.Start(GitHubOptions());
  const std::string body = Delivery().dump();
  ASSERT_EQ(Deliver(body, "g-restart").status, 202);
  ASSERT_TRUE(github_.WaitForReviews(1, 30s)) << server_.Log();
  ASSERT_EQ(server_.Stop(), 0);
  // Meanwhile the backup arrives: a new delivery would now be approved, a redelivery is not.
  As("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-1"}});
  server_.Start(GitHubOptions());
  adapters::HttpReply again = Deliver(body, "g-restart");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["duplicate"], true);
  ASSERT_TRUE(github_.WaitForReviews(2, 30s)) << server_.Log();
  EXPECT_EQ(github_.reviews()[1]["state"], "rejected") << "the recorded decision, not a new one";
  ASSERT_EQ(Deliver(body, "g-after-backup").status, 202);
  ASSERT_TRUE(github_.WaitForReviews(3, 30s)) << server_.Log();
  EXPECT_EQ(github_.reviews()[2]["state"], "approved");
}

TEST_F(GitHubRouteTest, AnUnknownCommitOrAnUnmappedEnvironmentIsARecordedRejection) {
  UpToProduction(true);
  server_.Start(GitHubOptions());
  adapters::HttpReply unknown =
      Deliver(Delivery("production", std::string(40, 'a')).dump(), "g-unknown");
  ASSERT_EQ(unknown.status, 202) << unknown.body;
  EXPECT_EQ(json::parse(unknown.body)["state"], "rejected");
  EXPECT_THAT(unknown.body, HasSubstr("no-deployment"));
  adapters::HttpReply unmapped = Deliver(Delivery("qa-playground").dump(), "g-unmapped");
  ASSERT_EQ(unmapped.status, 202) << unmapped.body;
  EXPECT_EQ(json::parse(unmapped.body)["state"], "rejected");
  EXPECT_THAT(unmapped.body, HasSubstr("unmapped-environment"));
  ASSERT_TRUE(github_.WaitForReviews(2, 30s)) << server_.Log();
  for (const json& review : github_.reviews()) EXPECT_EQ(review["state"], "rejected");
  const std::vector<json> decided = Decided();
  ASSERT_EQ(decided.size(), 2u);
  for (const json& record : decided) {
    EXPECT_FALSE(record["event"].value("allowed", false));
    EXPECT_FALSE(record["event"].contains("deployment"));
  }
}

TEST_F(GitHubRouteTest, GitHubDownThenUpGetsTheRecordedRejectionAfterRetries) {
  UpToProduction(false);
  server_.Start(GitHubOptions());
  github_.GoDown();
  adapters::HttpReply reply = Deliver(Delivery().dump(), "g-outage");
  ASSERT_EQ(reply.status, 202) << "the webhook is answered whatever GitHub's API is doing";
  ASSERT_TRUE(WaitUntil([&] { return Metric("shiplog_github_review_retries_total") >= 2; }))
      << server_.Log();
  github_.ComeUp();
  github_.FailNext(2, 503);  // and then it answers 503 twice
  ASSERT_TRUE(github_.WaitForReviews(1, 30s)) << server_.Log();
  EXPECT_EQ(github_.reviews()[0]["state"], "rejected") << "an outage never becomes an approval";
  ASSERT_TRUE(WaitUntil([&] { return Metric("shiplog_github_reviews_posted_total") == 1; }));
  EXPECT_GE(Metric("shiplog_github_review_retries_total"), 4u);
  EXPECT_EQ(Metric("shiplog_github_reviews_given_up_total"), 0u);
  EXPECT_THAT(server_.Log(), HasSubstr("retrying in"));
}

TEST_F(GitHubRouteTest, AnApprovalWaitsOutA503AndIsStillAnApproval) {
  UpToProduction(true);
  server_.Start(GitHubOptions());
  github_.FailNext(3, 503);
  ASSERT_EQ(Deliver(Delivery().dump(), "g-503").status, 202);
  ASSERT_TRUE(github_.WaitForReviews(1, 30s)) << server_.Log();
  EXPECT_EQ(github_.reviews()[0]["state"], "approved");
  size_t refused = 0;
  for (const Received& r : github_.requests()) refused += r.answered == 503;
  EXPECT_EQ(refused, 3u);
}

TEST_F(GitHubRouteTest, EachMissingOptionIsNamedAndTheServerStillServes) {
  server_.Start();
  const std::string body = Delivery().dump();
  adapters::HttpReply bare = Deliver(body, "g-1");
  EXPECT_EQ(bare.status, 503);
  EXPECT_THAT(bare.body, HasSubstr("--github-webhook-secret"));
  EXPECT_EQ(server_.Get("/healthz").status, 200);
  server_.Stop();
  server_.Start({"--github-webhook-secret", dir_ / "webhook.secret"});
  adapters::HttpReply no_app = Deliver(body, "g-1");
  EXPECT_EQ(no_app.status, 503);
  EXPECT_THAT(no_app.body, HasSubstr("--github-app-id"));
  EXPECT_EQ(Deliver(body, "g-1", "wrong").status, 401) << "the signature is still checked first";
  server_.Stop();
  std::vector<std::string> no_key = GitHubOptions();
  no_key.erase(no_key.begin(), no_key.begin() + 2);  // --integration-key
  server_.Start(no_key);
  adapters::HttpReply unsigned_server = Deliver(body, "g-1");
  EXPECT_EQ(unsigned_server.status, 503);
  EXPECT_THAT(unsigned_server.body, HasSubstr("--integration-key"));
  EXPECT_TRUE(github_.requests().empty());
}

TEST_F(GitHubRouteTest, AnUnusableKeyOrSecretFileStopsTheServerAtStart) {
  WriteFile(dir_ / "not-a-key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  std::vector<std::string> options = GitHubOptions();
  options[7] = dir_ / "not-a-key.pem";  // after --github-app-key
  ProcessResult bad_key = server_.Shiplog([&] {
    std::vector<std::string> args = {"serve", "--data", server_.data(), "--insecure-listen",
                                     "127.0.0.1:0"};
    args.insert(args.end(), options.begin(), options.end());
    return args;
  }());
  EXPECT_EQ(bad_key.exit_code, 2) << bad_key.err;
  EXPECT_THAT(bad_key.err, HasSubstr("--github-app-key"));
  ProcessResult no_secret =
      server_.Shiplog({"serve", "--data", server_.data(), "--insecure-listen", "127.0.0.1:0",
                       "--github-webhook-secret", dir_ / "missing.secret"});
  EXPECT_EQ(no_secret.exit_code, 2) << no_secret.err;
  EXPECT_THAT(no_secret.err, HasSubstr("--github-webhook-secret"));
}

TEST_F(GitHubRouteTest, ReviewsTravelOverHttpsCheckedAgainstGitHubCa) {
  const TestCertificate cert = MakeSelfSignedCertificate("localhost", true);
  WriteFile(dir_ / "ca.pem", cert.cert_pem);
  GitHubDouble https(app_.get(), kAppId, &cert);
  UpToProduction(true);
  std::vector<std::string> options = GitHubOptions();
  options[9] = https.url();  // after --github-api
  options.insert(options.end(), {"--github-ca", dir_ / "ca.pem"});
  server_.Start(options);
  json body = Delivery();
  body["deployment_callback_url"] = https.url() + kRunTarget;
  ASSERT_EQ(Deliver(body.dump(), "g-tls").status, 202);
  ASSERT_TRUE(https.WaitForReviews(1, 30s)) << server_.Log();
  EXPECT_EQ(https.reviews()[0]["state"], "approved");
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
